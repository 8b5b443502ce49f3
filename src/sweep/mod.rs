//! Running a plan's trials: in parallel with progress ([`execute`]), rung by rung for a
//! halving search ([`halving`]), and how long that will take ([`estimate`]).

pub mod estimate;
pub mod execute;
pub mod halving;

pub use execute::{ExecuteOptions, execute};
