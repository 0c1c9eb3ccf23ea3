//! Diagnostics: plain data built by every phase, rendered only at the CLI edge.
//!
//! Each phase error converts into a `Diagnostic`; `render` turns it into text with
//! `file:line:col` and a source excerpt via codespan-reporting. Nothing below the
//! CLI prints.

use crate::span::{SourceFile, Span};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;

/// A user-facing error with optional source labels and notes.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Lowercase message with no final period.
    pub message: String,
    /// Primary label first.
    pub labels: Vec<(Span, String)>,
    /// Extra lines shown after the excerpt.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error with no source position.
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a label at a span.
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push((span, text.into()));
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.0)
    }

    /// One line: `file:line:col: error: message` (or `error: message` with no span).
    pub fn short(&self, file: Option<&SourceFile>) -> String {
        match (file, self.span()) {
            (Some(f), Some(s)) => {
                let (l, c) = f.line_col(s.start as usize);
                format!("{}:{l}:{c}: error: {}", f.name, clip(&self.message))
            }
            _ => format!("error: {}", clip(&self.message)),
        }
    }
}

/// Renders diagnostics as text; with `color` it emits ANSI escapes.
pub fn render(diags: &[Diagnostic], file: Option<&SourceFile>, color: bool) -> String {
    let config = term::Config::default();
    let simple = file.map(|f| SimpleFile::new(f.name.clone(), crate::span::unix_lines(&f.text)));
    let mut out = String::new();
    for d in diags {
        // A label on a very long line would echo the whole line: one short line instead.
        if let Some(f) = file
            && d.labels.iter().any(|(s, _)| long_line(f, *s))
        {
            out.push_str(&d.short(file));
            out.push_str(&format!("\n  (the line is over {LONG_LINE} bytes; not shown)\n"));
            continue;
        }
        let mut cd = cs::Diagnostic::error().with_message(clip(&d.message));
        if let Some(sf) = &simple {
            let len = sf.source().len();
            cd = cd.with_labels(
                d.labels
                    .iter()
                    .enumerate()
                    .map(|(i, (span, text))| {
                        let r = span.start.min(len as u32) as usize..span.end.min(len as u32) as usize;
                        let l = if i == 0 {
                            cs::Label::primary((), r)
                        } else {
                            cs::Label::secondary((), r)
                        };
                        l.with_message(text.clone())
                    })
                    .collect(),
            );
        }
        cd = cd.with_notes(d.notes.clone());
        let text = match &simple {
            Some(sf) => emit(sf, &cd, &config, color),
            None => emit(&SimpleFile::new(String::new(), String::new()), &cd, &config, color),
        };
        match text {
            Some(t) => out.push_str(&t),
            None => {
                out.push_str(&d.short(file));
                out.push('\n');
            }
        }
    }
    out
}

/// A message cut to `LONG_LINE` bytes (a name taken from a huge line stays readable).
fn clip(m: &str) -> String {
    if m.len() <= LONG_LINE {
        return m.to_string();
    }
    let mut end = LONG_LINE;
    while !m.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &m[..end], m.len())
}

/// Lines longer than this (in bytes) are not echoed in a diagnostic.
pub const LONG_LINE: usize = 1000;

fn long_line(f: &SourceFile, s: Span) -> bool {
    let t = f.text.as_bytes();
    let at = (s.start as usize).min(t.len());
    let is_end = |c: &u8| *c == b'\n' || *c == b'\r';
    let start = t[..at].iter().rposition(is_end).map_or(0, |i| i + 1);
    let end = t[at..].iter().position(is_end).map_or(t.len(), |i| at + i);
    end - start > LONG_LINE
}

fn emit(
    file: &SimpleFile<String, String>,
    d: &cs::Diagnostic<()>,
    config: &term::Config,
    color: bool,
) -> Option<String> {
    if color {
        let mut buf = term::termcolor::Buffer::ansi();
        term::emit_to_write_style(&mut buf, config, file, d).ok()?;
        String::from_utf8(buf.into_inner()).ok()
    } else {
        term::emit_into_string(config, file, d).ok()
    }
}
