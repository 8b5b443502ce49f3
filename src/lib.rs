//! fairbinn-sweep: FairBiNN (NeurIPS 2024) and its baselines, trained over sweeps of the
//! knobs that shape the accuracy / demographic-parity trade-off.
//!
//! Data flows one way: experiment file ([`config`]) → trials ([`sweep::plan`]) → training
//! ([`data`], [`model`], [`train`], [`metrics`]) → results ([`sweep::store`]) → model
//! selection ([`selection`], [`pareto`]) → [`report`] and [`plot`].

pub mod bench;
pub mod cli;
pub mod config;
pub mod data;
pub mod metrics;
pub mod model;
pub mod pareto;
pub mod plot;
pub mod report;
pub mod selection;
pub mod slurm;
pub mod sweep;
pub mod train;
