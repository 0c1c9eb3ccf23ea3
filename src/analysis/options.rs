//! Typed metric options, parsed from `KEY=VALUE` strings and validated against the
//! allowed-values table of the metrics spec (section 2.1).
//!
//! Each metric has one options struct whose fields are closed enums, so an
//! analyzer never sees a value the spec does not allow. Parsing is the only way
//! in: an unknown key or a disallowed value is an `OptionError` with a plain
//! lowercase message. Every report serializes its options struct, so it always
//! carries the effective value of every option.

use serde::{Serialize, Serializer};
use std::fmt;

/// A bad `--opt`: unknown key, disallowed value or malformed text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OptionError(pub String);

macro_rules! option_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            /// Every value, in spec order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The stable option-value name.
            pub fn name(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }

            /// Parses an option-value name.
            pub fn from_name(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$var),)+ _ => None }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

option_enum!(
    /// What one stack address is.
    Granularity {
        /// One address per element, weight 1.
        Element => "element",
        /// One address per element, weight `bytes_per_element`.
        Byte => "byte",
        /// One address per buffer, weight its size.
        Buffer => "buffer",
    }
);

option_enum!(
    /// Which accesses move an address to the top of the stack.
    Recency {
        /// Every access (Mattson LRU).
        Move => "move",
        /// Writes only; reads just observe their depth.
        Observe => "observe",
    }
);

option_enum!(
    /// Which events receive a distance.
    Price {
        /// Reads and writes.
        All => "all",
        /// Reads only.
        Reads => "reads",
    }
);

option_enum!(
    /// How the reads of one op are priced.
    Pricing {
        /// Each unit is priced, then moves.
        Sequential => "sequential",
        /// All reads on the pre-op stack, then the unique units move.
        Simultaneous => "simultaneous",
    }
);

option_enum!(
    /// How a first access is priced (spec 2.2.1).
    ColdPolicy {
        /// Counted in `cold`, in no sum.
        Skip => "skip",
        /// Distance −1 (clock metrics).
        MinusOne => "minus_one",
        /// Total weight on the stack plus the access's own weight.
        FootprintPlus1 => "footprint_plus_1",
        /// Step inputs are stacked before the first op.
        Preload => "preload",
        /// Served by the last energy tier.
        Dram => "dram",
    }
);

fn bad_value(metric: &str, key: &str, value: &str, allowed: &[&str]) -> OptionError {
    OptionError(format!(
        "bad value `{value}` for option `{key}` of {metric} (allowed: {})",
        allowed.join(", ")
    ))
}

/// The one parser of a named option value: `value` must name one of `allowed`.
pub(crate) fn pick<T: Copy + PartialEq>(
    metric: &str,
    key: &str,
    value: &str,
    allowed: &[T],
    parse: fn(&str) -> Option<T>,
    name: fn(T) -> &'static str,
) -> Result<T, OptionError> {
    let names: Vec<&str> = allowed.iter().map(|v| name(*v)).collect();
    match parse(value) {
        Some(v) if allowed.contains(&v) => Ok(v),
        _ => Err(bad_value(metric, key, value, &names)),
    }
}

fn parse_bool(metric: &str, key: &str, value: &str) -> Result<bool, OptionError> {
    match value {
        "false" => Ok(false),
        "true" => Ok(true),
        _ => Err(bad_value(metric, key, value, &["false", "true"])),
    }
}

fn parse_bpe(metric: &str, value: &str) -> Result<u64, OptionError> {
    // A cap keeps byte depths far from u64 overflow on any real trace.
    match value.parse::<u64>() {
        Ok(v) if (1..=1 << 20).contains(&v) => Ok(v),
        _ => Err(OptionError(format!(
            "bad value `{value}` for option `bytes_per_element` of {metric} (allowed: an integer from 1 to 1048576)"
        ))),
    }
}

fn unknown(metric: &str, key: &str, known: &[&str]) -> OptionError {
    OptionError(format!(
        "unknown option `{key}` for {metric} (known: {})",
        known.join(", ")
    ))
}

/// Options of `ard_write` and `ard_access` (only `cold` can change).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ArdOptions {
    /// Always `buffer`.
    pub granularity: Granularity,
    /// Always `reads`.
    pub price: Price,
    /// Always `sequential`.
    pub pricing: Pricing,
    /// `minus_one` or `skip`.
    pub cold: ColdPolicy,
}

impl ArdOptions {
    /// Option keys this metric has.
    pub const KEYS: &'static [&'static str] = &["granularity", "price", "pricing", "cold"];

    /// The defaults; `write` selects `ard_write` (cold `minus_one`) over `ard_access` (`skip`).
    pub fn defaults(write: bool) -> ArdOptions {
        ArdOptions {
            granularity: Granularity::Buffer,
            price: Price::Reads,
            pricing: Pricing::Sequential,
            cold: if write { ColdPolicy::MinusOne } else { ColdPolicy::Skip },
        }
    }

    /// Applies `KEY=VALUE` pairs over the defaults.
    pub fn parse(metric: &str, write: bool, pairs: &[(&str, &str)]) -> Result<ArdOptions, OptionError> {
        let mut o = ArdOptions::defaults(write);
        for &(k, v) in pairs {
            match k {
                "granularity" => {
                    o.granularity = pick(
                        metric,
                        k,
                        v,
                        &[Granularity::Buffer],
                        Granularity::from_name,
                        Granularity::name,
                    )?
                }
                "price" => o.price = pick(metric, k, v, &[Price::Reads], Price::from_name, Price::name)?,
                "pricing" => o.pricing = pick(metric, k, v, &[Pricing::Sequential], Pricing::from_name, Pricing::name)?,
                "cold" => {
                    let allowed = if write {
                        [ColdPolicy::MinusOne, ColdPolicy::Skip]
                    } else {
                        [ColdPolicy::Skip, ColdPolicy::MinusOne]
                    };
                    o.cold = pick(metric, k, v, &allowed, ColdPolicy::from_name, ColdPolicy::name)?;
                }
                _ => return Err(unknown(metric, k, Self::KEYS)),
            }
        }
        Ok(o)
    }
}

/// Options of `lru_stack` (and the stack half of `dmd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StackOptions {
    /// `element` (default), `byte` or `buffer`.
    pub granularity: Granularity,
    /// `move` (default) or `observe`.
    pub recency: Recency,
    /// `all` (default under `move`) or `reads` (default under `observe`).
    pub price: Price,
    /// `sequential` (default) or `simultaneous`.
    pub pricing: Pricing,
    /// `skip` (default), `footprint_plus_1` or `preload`.
    pub cold: ColdPolicy,
    /// Bytes per element (default 4); weights addresses at `byte` granularity.
    pub bytes_per_element: u64,
}

impl Default for StackOptions {
    fn default() -> StackOptions {
        StackOptions {
            granularity: Granularity::Element,
            recency: Recency::Move,
            price: Price::All,
            pricing: Pricing::Sequential,
            cold: ColdPolicy::Skip,
            bytes_per_element: 4,
        }
    }
}

impl StackOptions {
    /// Option keys this metric has.
    pub const KEYS: &'static [&'static str] = &[
        "granularity",
        "recency",
        "price",
        "pricing",
        "cold",
        "bytes_per_element",
    ];

    /// Applies `KEY=VALUE` pairs over the defaults. `price` defaults by `recency`
    /// (spec 2.1: `all` under `move`, `reads` under `observe`); both values are
    /// accepted under both, since vectors L4 and L6 price reads only under `move`.
    pub fn parse(metric: &str, pairs: &[(&str, &str)]) -> Result<StackOptions, OptionError> {
        let mut o = StackOptions::default();
        let mut price = None;
        for &(k, v) in pairs {
            match k {
                "granularity" => {
                    o.granularity = pick(
                        metric,
                        k,
                        v,
                        Granularity::ALL,
                        Granularity::from_name,
                        Granularity::name,
                    )?
                }
                "recency" => o.recency = pick(metric, k, v, Recency::ALL, Recency::from_name, Recency::name)?,
                "price" => price = Some(pick(metric, k, v, Price::ALL, Price::from_name, Price::name)?),
                "pricing" => o.pricing = pick(metric, k, v, Pricing::ALL, Pricing::from_name, Pricing::name)?,
                "cold" => {
                    let allowed = [ColdPolicy::Skip, ColdPolicy::FootprintPlus1, ColdPolicy::Preload];
                    o.cold = pick(metric, k, v, &allowed, ColdPolicy::from_name, ColdPolicy::name)?;
                }
                "bytes_per_element" => o.bytes_per_element = parse_bpe(metric, v)?,
                _ => return Err(unknown(metric, k, Self::KEYS)),
            }
        }
        o.price = price.unwrap_or(match o.recency {
            Recency::Move => Price::All,
            Recency::Observe => Price::Reads,
        });
        Ok(o)
    }
}

/// Options of `dmd`: the stack options plus `ceil`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DmdOptions {
    /// The underlying stack options.
    #[serde(flatten)]
    pub stack: StackOptions,
    /// Use ⌈√d⌉ (integer `isqrt`) instead of √d.
    pub ceil: bool,
}

impl DmdOptions {
    /// Option keys this metric has.
    pub const KEYS: &'static [&'static str] = &[
        "granularity",
        "recency",
        "price",
        "pricing",
        "cold",
        "bytes_per_element",
        "ceil",
    ];

    /// Applies `KEY=VALUE` pairs over the defaults.
    pub fn parse(metric: &str, pairs: &[(&str, &str)]) -> Result<DmdOptions, OptionError> {
        let mut ceil = false;
        let mut rest = Vec::new();
        for &(k, v) in pairs {
            if k == "ceil" {
                ceil = parse_bool(metric, k, v)?;
            } else if StackOptions::KEYS.contains(&k) {
                rest.push((k, v));
            } else {
                return Err(unknown(metric, k, Self::KEYS));
            }
        }
        Ok(DmdOptions {
            stack: StackOptions::parse(metric, &rest)?,
            ceil,
        })
    }
}

/// Options of `bytedmd_v2` (section 5 fixes recency, price, pricing and cold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ByteDmdOptions {
    /// `element` (default) or `buffer`.
    pub granularity: Granularity,
    /// Always `fixed`: reads bump, outputs are pushed, dead values are removed.
    pub recency: &'static str,
    /// Always `reads`.
    pub price: Price,
    /// Always `simultaneous`.
    pub pricing: Pricing,
    /// Always `preload`.
    pub cold: ColdPolicy,
    /// Bytes per element (default 1).
    pub bytes_per_element: u64,
}

impl Default for ByteDmdOptions {
    fn default() -> ByteDmdOptions {
        ByteDmdOptions {
            granularity: Granularity::Element,
            recency: "fixed",
            price: Price::Reads,
            pricing: Pricing::Simultaneous,
            cold: ColdPolicy::Preload,
            bytes_per_element: 1,
        }
    }
}

impl ByteDmdOptions {
    /// Option keys this metric has (`recency` is fixed, so it is not a key).
    pub const KEYS: &'static [&'static str] = &["granularity", "price", "pricing", "cold", "bytes_per_element"];

    /// Applies `KEY=VALUE` pairs over the defaults.
    pub fn parse(metric: &str, pairs: &[(&str, &str)]) -> Result<ByteDmdOptions, OptionError> {
        let mut o = ByteDmdOptions::default();
        for &(k, v) in pairs {
            match k {
                "granularity" => {
                    let allowed = [Granularity::Element, Granularity::Buffer];
                    o.granularity = pick(metric, k, v, &allowed, Granularity::from_name, Granularity::name)?;
                }
                "price" => o.price = pick(metric, k, v, &[Price::Reads], Price::from_name, Price::name)?,
                "pricing" => {
                    o.pricing = pick(
                        metric,
                        k,
                        v,
                        &[Pricing::Simultaneous],
                        Pricing::from_name,
                        Pricing::name,
                    )?
                }
                "cold" => {
                    o.cold = pick(
                        metric,
                        k,
                        v,
                        &[ColdPolicy::Preload],
                        ColdPolicy::from_name,
                        ColdPolicy::name,
                    )?
                }
                "bytes_per_element" => o.bytes_per_element = parse_bpe(metric, v)?,
                _ => return Err(unknown(metric, k, Self::KEYS)),
            }
        }
        Ok(o)
    }
}

/// Options of `energy_pj` given on the command line (the tier model comes from
/// the preset and the TOML override; see `energy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnergyArgs {
    /// Key/value pairs in command-line order, applied after the TOML file.
    pub pairs: Vec<(String, String)>,
}

impl EnergyArgs {
    /// Option keys this metric has.
    pub const KEYS: &'static [&'static str] = &[
        "granularity",
        "recency",
        "price",
        "pricing",
        "cold",
        "bytes_per_element",
        "write_tier",
        "preset",
    ];
}

/// Splits `KEY=VALUE` or `METRIC.KEY=VALUE` into (metric, key, value).
pub fn split_opt(s: &str) -> Result<(Option<&str>, &str, &str), OptionError> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(OptionError(format!(
            "bad option `{s}`: expected KEY=VALUE or METRIC.KEY=VALUE"
        )));
    };
    let (m, k) = match k.split_once('.') {
        Some((m, k)) => (Some(m.trim()), k.trim()),
        None => (None, k.trim()),
    };
    if k.is_empty() {
        return Err(OptionError(format!("bad option `{s}`: empty key")));
    }
    Ok((m, k, v.trim()))
}
