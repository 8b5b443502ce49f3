//! A results folder: its rows ([`schema`]), where each file is and its lock ([`layout`]),
//! the append-only store a run writes ([`store`]), reading it back with repair ([`read`]),
//! `manifest.json` ([`manifest`]) and a halving search's checkpoints ([`checkpoint`]).
//! Config, saved models and the analysis depend on the row schema only.

pub mod checkpoint;
pub mod layout;
pub mod manifest;
mod read;
pub mod schema;
mod store;

pub use manifest::{ExecuteSummary, Manifest};
pub use read::{finished_trials, gzip_epochs, read_results};
pub use schema::{EpochRow, Settings, Status, TrialHead, TrialOutcome, TrialRecord, TrialRow};
pub use store::{ResultsStore, read_downstream, shard_folders};
