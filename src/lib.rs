//! fairbinn-sweep: FairBiNN (NeurIPS 2024) and its baselines, trained over sweeps of the
//! knobs that shape the accuracy / demographic-parity trade-off.
//!
//! Data flows one way: experiment file ([`config`]) → trials ([`plan`]) → training
//! ([`sweep`] runs them: [`data`], [`model`], [`train`] and its [`train::methods`],
//! [`metrics`]) → the results folder ([`results`]) → [`analysis`] (model [`selection`],
//! [`pareto`] fronts) → [`outputs`] (CSVs, figures, reports, the printed summary). The
//! commands ([`commands`]) run that pipeline; ARCHITECTURE.md has the map.

pub mod analysis;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod downstream;
pub mod escape;
pub mod estimator;
pub mod files;
pub mod metrics;
pub mod model;
pub mod model_file;
pub mod outputs;
pub mod pareto;
pub mod plan;
pub mod predict;
#[cfg(feature = "python")]
mod python;
pub mod results;
pub mod selection;
pub mod slurm;
pub mod spelling;
pub mod sweep;
pub mod train;
