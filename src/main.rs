//! The `sutro` binary: parse the command line, run it, map the result to an exit code.

use clap::Parser;
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    sutro::output::install_signal_cleanup();
    let args = cli::Cli::parse();
    ExitCode::from(cli::run(args))
}
