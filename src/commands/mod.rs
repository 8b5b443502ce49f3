//! One file per command: each reads its options (from [`crate::cli`]) and runs its pipeline
//! over the library's modules. [`command_line`] dispatches to them, for the binary's `main.rs`
//! and the Python package's `fairbinn-sweep` command alike.

pub mod audit;
pub mod bench;
pub mod data;
pub mod merge;
pub mod plan;
pub mod predict;
pub mod report;
pub mod run;
pub mod slurm;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::results::ExecuteSummary;

/// Run one command line (`args[0]` is the program's name): 0 on success, 1 when some trial
/// did not finish, 2 with the error printed. A malformed command line exits here, as clap does.
pub fn command_line(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let outcome = match Cli::parse_from(args).command {
        Command::Run(args) => run::run_each(&args),
        Command::Plan(args) => plan::plan(&args),
        Command::Merge(args) => merge::merge(&args),
        Command::Slurm(args) => slurm::slurm(&args),
        Command::Bench(args) => bench::bench(&args),
        Command::Data(command) => data::data(&command),
        Command::Report(args) => report::report_again(&args),
        Command::Predict(args) => predict::predict(&args),
        Command::Audit(args) => audit::audit(&args),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::from(2)
    })
}

/// Printing to a reader that has gone (`plan … | head`) ends the process quietly, as other
/// command-line tools do, instead of panicking: Rust (and Python) ignore SIGPIPE, and every
/// result is on disk by the time anything is printed.
pub fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default, before any thread of ours starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// 0 when every trial finished, 1 when some diverged or failed (the rest are written).
fn exit_code(summary: &ExecuteSummary) -> ExitCode {
    if summary.diverged + summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
