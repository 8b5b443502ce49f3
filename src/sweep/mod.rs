//! Sweeps: planning trials, running them, and storing their results.

pub mod checkpoint;
pub mod estimate;
pub mod execute;
pub mod halving;
pub mod manifest;
pub mod plan;
pub mod store;

pub use execute::{ExecuteOptions, ExecuteSummary, execute};
pub use plan::{Plan, Shard, Trial, plan};
pub use store::ResultsStore;
