//! The `fairbinn-sweep` command: each subcommand's pipeline is in `commands/`.

use std::process::ExitCode;

use clap::Parser;

use fairbinn_sweep::cli::{Cli, Command};
use fairbinn_sweep::commands;

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing to a reader that has gone (`plan … | head`) panics.
    // Like other command-line tools, end quietly instead: every result is on disk by then.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let outcome = match Cli::parse().command {
        Command::Run(args) => commands::run::run(&args),
        Command::Plan(args) => commands::plan::plan(&args),
        Command::Merge(args) => commands::merge::merge(&args),
        Command::Slurm(args) => commands::slurm::slurm(&args),
        Command::Bench(args) => commands::bench::bench(&args),
        Command::Data(command) => commands::data::data(&command),
        Command::Report(args) => commands::report::report_again(&args),
        Command::Predict(args) => commands::predict::predict(&args),
        Command::Audit(args) => commands::audit::audit(&args),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::from(2)
    })
}
