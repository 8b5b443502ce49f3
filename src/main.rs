//! The `fairbinn-sweep` command: each subcommand's pipeline is in `commands/`.

use std::process::ExitCode;

use fairbinn_sweep::commands;

fn main() -> ExitCode {
    commands::end_quietly_on_closed_pipe();
    commands::command_line(std::env::args_os())
}
