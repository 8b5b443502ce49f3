//! fairbinn-sweep: FairBiNN (NeurIPS 2024) and its baselines, trained over sweeps of the
//! knobs that shape the accuracy / demographic-parity trade-off.
//!
//! Data flows one way: experiment file ([`config`]) → trials ([`sweep::plan`]) → training
//! ([`data`], [`model`], [`train`] and its [`train::methods`], [`metrics`]) → results
//! ([`sweep::store`]) → [`analysis`] (model [`selection`], [`pareto`] fronts, figures per
//! method) → [`outputs`] (CSVs, figures, the printed summary).

pub mod analysis;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod config;
pub mod data;
pub mod files;
pub mod metrics;
pub mod model;
pub mod model_file;
pub mod outputs;
pub mod pareto;
pub mod predict;
pub mod selection;
pub mod slurm;
pub mod spelling;
pub mod sweep;
pub mod train;
