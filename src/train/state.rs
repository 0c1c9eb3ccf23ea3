//! Read-out and continuation: the values of every `param` and `state` buffer
//! at the end of a run (`run --dump-state`, `--save-state`), and the start of
//! another run from them (`--load-state`).
//!
//! One document serves both: `{"schema": 1, "program", "buffers": [{name, role,
//! shape, values, bits}]}`. `values` are the f32 values for people and plots;
//! `bits` are the same values as IEEE-754 bit patterns, which `--load-state`
//! reads, so a continued run starts from exactly the saved parameters.
//!
//! Loading: every saved buffer must be a `param` or `state` buffer of the
//! program with the same rank and no axis smaller than saved. A buffer that grew
//! (a curriculum over n widens `W1[hidden, n]`) is zero padded: saved element
//! `[i, j]` goes to `[i, j]`, every new element is 0. Buffers the file does not
//! name keep their initial values.

use crate::interp::Interp;
use crate::ir::BufId;
use serde::{Deserialize, Serialize};

/// Saved params and state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format version: 1.
    pub schema: u32,
    /// The program the values came from.
    pub program: String,
    /// Every param and state buffer, in declaration order.
    pub buffers: Vec<SavedBuffer>,
}

/// One saved buffer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedBuffer {
    /// Buffer name.
    pub name: String,
    /// `param` or `state`.
    pub role: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f32>,
    /// The same values as IEEE-754 bit patterns (what loading reads).
    pub bits: Vec<u32>,
}

impl State {
    /// The current param and state buffers of an interpreter.
    pub fn capture(it: &Interp<'_>) -> State {
        let v = it.validated();
        let p = v.program();
        let buffers = p
            .buffer_ids()
            .filter(|&id| p.buf(id).role.persists())
            .map(|id| {
                let values = it.buffer(id).to_vec();
                SavedBuffer {
                    name: p.buf(id).name.clone(),
                    role: p.buf(id).role.keyword().to_string(),
                    shape: v.shape(id).to_vec(),
                    bits: values.iter().map(|x| x.to_bits()).collect(),
                    values,
                }
            })
            .collect();
        State {
            schema: 1,
            program: p.name.clone(),
            buffers,
        }
    }

    /// Parses a state document, checking its schema and that each buffer's
    /// shape, values and bits agree.
    pub fn parse(text: &str) -> Result<State, String> {
        let st: State = serde_json::from_str(text).map_err(|e| format!("not a sutro state file: {e}"))?;
        if st.schema != 1 {
            return Err(format!("state schema {} is not supported (expected 1)", st.schema));
        }
        for b in &st.buffers {
            let size = b
                .shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| format!("buffer `{}`: its shape overflows", b.name))?;
            if b.bits.len() != size {
                return Err(format!(
                    "buffer `{}`: shape {:?} holds {size} elements, the file has {} bits",
                    b.name,
                    b.shape,
                    b.bits.len()
                ));
            }
        }
        Ok(st)
    }

    /// Writes the saved values into the interpreter's buffers (see the module
    /// doc for the rules); any mismatch is an error naming the buffer.
    pub fn apply(&self, it: &mut Interp<'_>) -> Result<(), String> {
        let mut plan: Vec<(BufId, &SavedBuffer, Vec<usize>)> = Vec::new();
        {
            let v = it.validated();
            let p = v.program();
            for b in &self.buffers {
                let id = p
                    .buffer_ids()
                    .find(|&id| p.buf(id).name == b.name)
                    .ok_or_else(|| format!("the state file's buffer `{}` is not in the program", b.name))?;
                if !p.buf(id).role.persists() {
                    return Err(format!(
                        "the state file's buffer `{}` is a `{}` buffer in the program; only param and state buffers load",
                        b.name,
                        p.buf(id).role.keyword()
                    ));
                }
                let shape = v.shape(id).to_vec();
                let fits = shape.len() == b.shape.len() && shape.iter().zip(&b.shape).all(|(now, was)| now >= was);
                if !fits {
                    return Err(format!(
                        "buffer `{}` was saved as {:?} and is {:?} now: a loaded buffer may only grow, axis by axis",
                        b.name, b.shape, shape
                    ));
                }
                plan.push((id, b, shape));
            }
        }
        for (id, b, shape) in plan {
            let dst = it.buffer_mut(id);
            dst.fill(0.0);
            for (k, &bits) in b.bits.iter().enumerate() {
                dst[grown_index(k, &b.shape, &shape)] = f32::from_bits(bits);
            }
        }
        Ok(())
    }
}

/// The row-major index in `to` of element `k` of a row-major array of shape
/// `from` (same rank, no axis of `to` smaller).
fn grown_index(mut k: usize, from: &[usize], to: &[usize]) -> usize {
    let mut idx = 0;
    let mut stride = 1;
    for (f, t) in from.iter().zip(to).rev() {
        let i = k % f.max(&1);
        k /= f.max(&1);
        idx += i * stride;
        stride *= t;
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::grown_index;

    #[test]
    fn grown_index_keeps_row_and_column() {
        // [2, 3] into [2, 5]: element (1, 2) = k 5 goes to 1·5 + 2 = 7.
        assert_eq!(grown_index(5, &[2, 3], &[2, 5]), 7);
        // [2, 3] into [4, 3]: rows keep their index.
        assert_eq!(grown_index(5, &[2, 3], &[4, 3]), 5);
        // Same shape: identity.
        assert_eq!(grown_index(4, &[2, 3], &[2, 3]), 4);
        // Rank 1.
        assert_eq!(grown_index(2, &[3], &[10]), 2);
    }
}
