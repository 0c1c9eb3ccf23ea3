//! The memory budget (`--max-memory`): one byte limit that every allocation
//! sized from input is checked against before it happens — a program's buffers,
//! the task's data, and anything sized from a trace header or a CSV value.
//!
//! Sizes are computed with overflow-checked arithmetic; an overflow is an error
//! naming the quantity, never a wrap. The budget is lowered to half of the
//! process's address-space limit (`ulimit -v`) when that is smaller, which
//! leaves the other half for code, stacks, allocator slack and the copies a
//! command holds at once (the reference and the candidate of `verify`).

use thiserror::Error;

/// The default budget: 1 GiB.
pub const DEFAULT_MAX_MEMORY: u64 = 1 << 30;

/// Why a size is not allowed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MemoryError {
    /// The size computation itself overflows 64 bits.
    #[error("the size of {what} overflows")]
    Overflow {
        /// The quantity, e.g. "the task data (n × n_train)".
        what: String,
    },
    /// The size is computable but over the budget.
    #[error("{what} would take {bytes} bytes, over the memory budget of {limit} bytes (--max-memory)")]
    OverBudget {
        /// The quantity.
        what: String,
        /// Bytes it needs.
        bytes: u64,
        /// The budget in force.
        limit: u64,
    },
}

/// The product of `factors`, or an overflow error naming `what`.
pub fn product(what: &str, factors: &[u64]) -> Result<u64, MemoryError> {
    factors
        .iter()
        .try_fold(1u64, |a, f| a.checked_mul(*f))
        .ok_or_else(|| MemoryError::Overflow { what: what.into() })
}

/// The sum of `terms`, or an overflow error naming `what`.
pub fn sum(what: &str, terms: &[u64]) -> Result<u64, MemoryError> {
    terms
        .iter()
        .try_fold(0u64, |a, t| a.checked_add(*t))
        .ok_or_else(|| MemoryError::Overflow { what: what.into() })
}

/// `bytes` if it fits in `limit`, else an error naming `what`.
pub fn fits(what: &str, bytes: u64, limit: u64) -> Result<u64, MemoryError> {
    if bytes > limit {
        Err(MemoryError::OverBudget {
            what: what.into(),
            bytes,
            limit,
        })
    } else {
        Ok(bytes)
    }
}

/// Parses a byte count: digits with an optional `K`, `M` or `G` suffix (powers
/// of 1024; `KiB`/`MB`-style spellings and lowercase are accepted too).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a byte count (e.g. 512M, 2G)"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (use K, M or G)")),
    };
    n.checked_mul(1u64 << shift)
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("`{text}` is not a positive byte count that fits 64 bits"))
}

/// The process's address-space limit in bytes (`ulimit -v`), if one is set and
/// the platform reports it (Linux: `/proc/self/limits`).
pub fn address_space_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    let soft = line.trim_start_matches("Max address space").split_whitespace().next()?;
    soft.parse().ok()
}

/// The budget in force for a requested one: lowered to half the address-space
/// limit when that is smaller.
pub fn effective(requested: u64) -> u64 {
    match address_space_limit() {
        Some(as_limit) => requested.min(as_limit / 2),
        None => requested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_powers_of_1024() {
        assert_eq!(parse_bytes("1G"), Ok(1_073_741_824));
        assert_eq!(parse_bytes("512M"), Ok(512 * 1_048_576));
        assert_eq!(parse_bytes("3k"), Ok(3072));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("1X").is_err());
        assert!(parse_bytes("99999999999999G").is_err());
        assert!(parse_bytes("").is_err());
    }

    #[test]
    fn overflow_names_the_quantity() {
        let e = product("the task data (n × n_test)", &[u64::MAX, 2]);
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("the size of the task data (n × n_test) overflows".to_string())
        );
        assert_eq!(sum("x", &[1, 2, 3]), Ok(6));
        assert!(fits("x", 11, 10).is_err());
    }
}
