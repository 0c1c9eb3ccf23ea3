//! Tokens of the `.sutro` language.

use crate::span::Span;

/// A token kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A name or keyword.
    Ident(String),
    /// A non-negative number literal.
    Num(f64),
    /// One of `= , ( ) [ ] : + - * / { }`.
    Punct(char),
    /// `..` in a loop range.
    DotDot,
    /// A comment's text (without `#` and one following space).
    Comment(String),
    /// End of a line.
    Newline,
    /// End of input.
    Eof,
}

/// A token with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// Kind.
    pub tok: Tok,
    /// Where.
    pub span: Span,
}

/// A lexing error: an unexpected character or a malformed number.
#[derive(Clone, Debug, PartialEq)]
pub struct LexError {
    /// What went wrong.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// Splits text into tokens; always ends with `Eof`.
pub fn lex(text: &str) -> Result<Vec<Token>, LexError> {
    let mut toks = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            // A line ends at `\n`, `\r\n` or a lone `\r` (old Mac files).
            b'\n' => {
                toks.push(Token {
                    tok: Tok::Newline,
                    span: Span::new(i, i + 1),
                });
                i += 1;
            }
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => {
                toks.push(Token {
                    tok: Tok::Newline,
                    span: Span::new(i, i + 1),
                });
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                let end = text[i..].find(['\n', '\r']).map_or(text.len(), |e| i + e);
                let body = text[i + 1..end].trim_end();
                let body = body.strip_prefix(' ').unwrap_or(body);
                toks.push(Token {
                    tok: Tok::Comment(body.to_string()),
                    span: Span::new(i, end),
                });
                i = end;
            }
            b'.' if bytes.get(i + 1) == Some(&b'.') => {
                toks.push(Token {
                    tok: Tok::DotDot,
                    span: Span::new(i, i + 2),
                });
                i += 2;
            }
            b'=' | b',' | b'(' | b')' | b'[' | b']' | b':' | b'+' | b'-' | b'*' | b'/' | b'{' | b'}' => {
                toks.push(Token {
                    tok: Tok::Punct(c as char),
                    span: Span::new(i, i + 1),
                });
                i += 1;
            }
            b'0'..=b'9' | b'.' => {
                // A `..` ends the number (`0..n`).
                while i < bytes.len()
                    && (bytes[i].is_ascii_digit() || (bytes[i] == b'.' && bytes.get(i + 1) != Some(&b'.')))
                {
                    i += 1;
                }
                if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                    let mut j = i + 1;
                    if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j].is_ascii_digit() {
                        i = j;
                        while i < bytes.len() && bytes[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let s = &text[start..i];
                let span = Span::new(start, i);
                match s.parse::<f64>() {
                    Ok(v) if v.is_finite() => toks.push(Token { tok: Tok::Num(v), span }),
                    _ => {
                        return Err(LexError {
                            message: format!("malformed number `{s}`"),
                            span,
                        });
                    }
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                toks.push(Token {
                    tok: Tok::Ident(text[start..i].to_string()),
                    span: Span::new(start, i),
                });
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                let end = i + ch.len_utf8();
                return Err(LexError {
                    message: format!("unexpected character `{}`", ch.escape_debug()),
                    span: Span::new(i, end),
                });
            }
        }
    }
    toks.push(Token {
        tok: Tok::Eof,
        span: Span::new(text.len(), text.len()),
    });
    Ok(toks)
}
