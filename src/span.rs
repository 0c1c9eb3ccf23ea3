//! Byte spans into a source file and line:col lookup.
//!
//! A `Span` is a half-open byte range `start..end` into one source text. Spans
//! produced by the front end always lie inside the text they came from; ops made
//! by a pass carry the span of the source line they stand for.

use std::ops::Range;

/// A half-open byte range into a source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The span covering both.
    pub fn join(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// As a byte range.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A named source text with a line-start index.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Name shown in diagnostics (usually the path).
    pub name: String,
    /// The full text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Index a text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(line_ends(&text).map(|i| i + 1));
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// `NAME:LINE:COL` of a span's start, for messages that are not rendered
    /// against this file (a board row, the other program of a comparison).
    pub fn locate(&self, span: Span) -> String {
        let (l, c) = self.line_col(span.start as usize);
        format!("{}:{l}:{c}", self.name)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

/// Byte offsets of line terminators: `\n`, and a `\r` not followed by `\n`
/// (the lexer's rule, so line numbers agree with what the parser saw).
pub fn line_ends(text: &str) -> impl Iterator<Item = usize> + '_ {
    let b = text.as_bytes();
    b.iter()
        .enumerate()
        .filter(move |(i, c)| **c == b'\n' || (**c == b'\r' && b.get(i + 1) != Some(&b'\n')))
        .map(|(i, _)| i)
}

/// The text with every lone `\r` turned into `\n` (same length, so spans stay
/// valid): what a renderer that knows only `\n` lines should be given.
pub fn unix_lines(text: &str) -> String {
    let b = text.as_bytes();
    text.char_indices()
        .map(|(i, c)| {
            if c == '\r' && b.get(i + 1) != Some(&b'\n') {
                '\n'
            } else {
                c
            }
        })
        .collect()
}

/// Bytes as UTF-8 text; the error names the line, column and byte offset of
/// the first invalid sequence.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
        let (line, col) = SourceFile::new("", valid).line_col(at);
        format!("invalid UTF-8 at line {line}, column {col} (byte {at})")
    })
}
