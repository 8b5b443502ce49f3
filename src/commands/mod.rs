//! One file per command: each reads its options (from [`crate::cli`]) and runs its pipeline
//! over the library's modules. `main.rs` only dispatches to them.

pub mod audit;
pub mod bench;
pub mod data;
pub mod merge;
pub mod plan;
pub mod predict;
pub mod report;
pub mod run;
pub mod slurm;

use std::process::ExitCode;

use crate::results::ExecuteSummary;

/// 0 when every trial finished, 1 when some diverged or failed (the rest are written).
fn exit_code(summary: &ExecuteSummary) -> ExitCode {
    if summary.diverged + summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
