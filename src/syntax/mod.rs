//! Front end: `.sutro` text → `ir::Program` with spans.
//!
//! The lexer turns text into tokens with byte spans; the parser builds the
//! program line by line, resolving names to ids as it goes (a name is known once
//! it is declared or assigned on an earlier line). Errors carry spans.

pub mod lexer;
pub mod parser;

pub use parser::{MAX_EXPR_DEPTH, ParseError, parse};
