//! Every file or stdout a command writes goes through here, so that no output is
//! half-written, no device or link is replaced, and no input is overwritten.
//!
//! - `-` is stdout; a failed write to it is an error (a closed pipe is quiet).
//! - A regular file (or a new path) is replaced atomically: a temporary beside
//!   it, then a rename. The temporary's name fits the file-name limit, and it is
//!   removed on error, on drop, and on SIGINT/SIGTERM (`install_signal_cleanup`).
//! - A device node, FIFO or socket is opened and written directly.
//! - A symlink is followed: its final target is what gets written (atomically
//!   if that is a regular file), and the link stays a link.
//! - A path that names a file the same command read (`note_input`) is refused;
//!   `fmt --write`, whose job is rewriting its input, uses `Output::replace_input`.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use thiserror::Error;

/// Why an output could not be written.
#[derive(Debug, Error)]
pub enum OutputError {
    /// The output would overwrite a file the command reads.
    #[error("refusing to write `{0}`: it is also an input of this command")]
    IsInput(String),
    /// An I/O failure.
    #[error("cannot write `{path}`: {err}")]
    Io { path: String, err: io::Error },
}

impl OutputError {
    fn io(path: &str, err: io::Error) -> OutputError {
        OutputError::Io {
            path: path.to_string(),
            err,
        }
    }
}

/// Files read by this process (canonical paths), for the input == output check.
static INPUTS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Temporaries in flight, removed by the signal handler.
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// The first failed write to stdout (other than a closed pipe).
static STDOUT_ERROR: Mutex<Option<String>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records that the command reads `path`, so no output may replace it.
pub fn note_input(path: &str) {
    if let Ok(p) = std::fs::canonicalize(path) {
        lock(&INPUTS).push(p);
    }
}

/// Writes `s` to stdout. A closed pipe (`| head`) ends the output quietly; any
/// other failure is remembered for `stdout_error`.
pub fn print(s: &str) {
    let mut o = io::stdout().lock();
    if let Err(e) = o.write_all(s.as_bytes()).and_then(|()| o.flush()) {
        remember_stdout_error(&e);
    }
}

fn remember_stdout_error(e: &io::Error) {
    if e.kind() != io::ErrorKind::BrokenPipe {
        lock(&STDOUT_ERROR).get_or_insert_with(|| format!("cannot write to stdout: {e}"));
    }
}

/// The first failed write to stdout, if any: the command must then exit 2.
pub fn stdout_error() -> Option<String> {
    lock(&STDOUT_ERROR).clone()
}

/// Writes a whole output: `-` for stdout, else a file as the module doc says.
pub fn write(path: &str, data: &[u8]) -> Result<(), OutputError> {
    let mut o = Output::create(path)?;
    o.write_all(data).map_err(|e| OutputError::io(path, e))?;
    o.finish()
}

/// Where the bytes go.
enum Sink {
    Stdout(io::StdoutLock<'static>),
    Direct(File),
    Atomic { file: File, tmp: PathBuf, target: PathBuf },
    Done,
}

/// An output being written; nothing appears at an atomic target until `finish`,
/// and a dropped, unfinished output removes its temporary.
pub struct Output {
    path: String,
    sink: Sink,
    /// Set when a closed pipe ended stdout: further writes are discarded.
    closed: bool,
}

impl Output {
    /// Opens an output, refusing one that names an input of the command.
    pub fn create(path: &str) -> Result<Output, OutputError> {
        Output::open(path, true)
    }

    /// `fmt --write`: the one writer whose output is its own input.
    pub fn replace_input(path: &str) -> Result<Output, OutputError> {
        Output::open(path, false)
    }

    fn open(path: &str, refuse_inputs: bool) -> Result<Output, OutputError> {
        let sink = if path == "-" {
            Sink::Stdout(io::stdout().lock())
        } else {
            let target = resolve_links(Path::new(path)).map_err(|e| OutputError::io(path, e))?;
            if refuse_inputs
                && let Ok(c) = std::fs::canonicalize(&target)
                && lock(&INPUTS).contains(&c)
            {
                return Err(OutputError::IsInput(path.to_string()));
            }
            match std::fs::metadata(&target) {
                Ok(m) if !m.is_file() && !m.is_dir() => Sink::Direct(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&target)
                        .map_err(|e| OutputError::io(path, e))?,
                ),
                _ => {
                    let tmp = temp_name(&target);
                    lock(&TEMPS).push(tmp.clone());
                    let file = File::create(&tmp).map_err(|e| {
                        forget_temp(&tmp);
                        OutputError::io(path, e)
                    })?;
                    Sink::Atomic { file, tmp, target }
                }
            }
        };
        Ok(Output {
            path: path.to_string(),
            sink,
            closed: false,
        })
    }

    /// Flushes and, for an atomic target, renames the temporary into place.
    pub fn finish(mut self) -> Result<(), OutputError> {
        let path = self.path.clone();
        match std::mem::replace(&mut self.sink, Sink::Done) {
            Sink::Stdout(mut o) => {
                if let Err(e) = o.flush()
                    && e.kind() != io::ErrorKind::BrokenPipe
                {
                    return Err(OutputError::io("-", e));
                }
            }
            Sink::Direct(mut f) => f.flush().map_err(|e| OutputError::io(&path, e))?,
            Sink::Atomic { file, tmp, target } => {
                let res = file.sync_all().and_then(|()| {
                    drop(file);
                    std::fs::rename(&tmp, &target)
                });
                if let Err(e) = res {
                    let _ = std::fs::remove_file(&tmp);
                    forget_temp(&tmp);
                    return Err(OutputError::io(&path, e));
                }
                forget_temp(&tmp);
            }
            Sink::Done => {}
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = match &mut self.sink {
            Sink::Stdout(o) => o.write(buf),
            Sink::Direct(f) | Sink::Atomic { file: f, .. } => f.write(buf),
            Sink::Done => Ok(buf.len()),
        };
        match r {
            // A closed pipe on stdout ends the output quietly.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe && matches!(self.sink, Sink::Stdout(_)) => {
                self.closed = true;
                Ok(buf.len())
            }
            r => r,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(o) => o.flush(),
            Sink::Direct(f) | Sink::Atomic { file: f, .. } => f.flush(),
            Sink::Done => Ok(()),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Sink::Atomic { tmp, .. } = &self.sink {
            let _ = std::fs::remove_file(tmp);
            forget_temp(tmp);
        }
    }
}

fn forget_temp(tmp: &Path) {
    lock(&TEMPS).retain(|t| t != tmp);
}

/// Follows symlinks (up to 40, like the kernel) to the path that gets written.
fn resolve_links(p: &Path) -> io::Result<PathBuf> {
    let mut cur = p.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&cur)?;
                cur = match cur.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(cur),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// The longest file name most file systems allow, in bytes.
const NAME_MAX: usize = 255;

/// `.NAME.PID.tmp` beside the target, with NAME cut so the whole stays within
/// `NAME_MAX` bytes.
fn temp_name(target: &Path) -> PathBuf {
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let suffix = format!(".{}.tmp", std::process::id());
    let mut keep = name.len().min(NAME_MAX - 1 - suffix.len());
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    dir.join(format!(".{}{suffix}", &name[..keep]))
}

/// Removes every temporary in flight on SIGINT or SIGTERM, then exits with
/// 128 + the signal number, as a shell expects. Call once at start-up.
pub fn install_signal_cleanup() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    for t in lock(&TEMPS).iter() {
                        let _ = std::fs::remove_file(t);
                    }
                    std::process::exit(128 + sig);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_fit_the_file_name_limit() {
        let long = "a".repeat(250);
        let t = temp_name(Path::new(&format!("/tmp/{long}")));
        let name = t.file_name().map(|n| n.len()).unwrap_or(0);
        assert!(name <= NAME_MAX, "{name}");
        let t = temp_name(Path::new("out.svg"));
        assert_eq!(t, PathBuf::from(format!("./.out.svg.{}.tmp", std::process::id())));
    }
}
