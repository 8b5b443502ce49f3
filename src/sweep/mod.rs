//! Sweeps: planning trials, running them, and storing their results.

pub mod execute;
pub mod plan;
pub mod store;

pub use execute::{ExecuteOptions, ExecuteSummary, execute};
pub use plan::{Plan, Trial, plan};
pub use store::ResultsStore;
