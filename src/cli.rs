//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::DataDirOverride;
use crate::data::DataDirSource;

/// Train fairness-aware networks (FairBiNN and baselines), sweep their knobs and draw
/// accuracy-versus-demographic-parity Pareto fronts.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Plan and run every trial of an experiment file, then write results and plots.
    Run(RunArgs),
    /// Look at the data an experiment file describes, without training.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Subcommand)]
pub enum DataCommand {
    /// Rows per split, features, group sizes and base rates, majority-class accuracy and
    /// the labels' own ΔDP.
    Describe {
        /// The experiment file (YAML), e.g. experiments/health.yaml.
        experiment: PathBuf,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Time loading each built-in data set (best and median of several loads).
    Bench {
        #[command(flatten)]
        data: DataDirArg,
        /// Loads per data set.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
        repeat: u16,
    },
}

#[derive(Args)]
pub struct DataDirArg {
    /// Folder holding the data sets (or the data set's own folder). Overrides
    /// FAIRBINN_DATA_DIR and dataset.data_dir. Default: ../shared/data, then ./data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct RunArgs {
    /// The experiment file (YAML), e.g. experiments/adult.yaml.
    pub experiment: PathBuf,
    #[command(flatten)]
    pub data: DataDirArg,
    /// Where to write results. Default: results/<experiment name>.
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Trials run at once (each on one core). Default: all cores.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Rerun every trial, discarding results already in the results folder.
    #[arg(long)]
    pub force: bool,
    /// Print no progress, only the final summary and errors.
    #[arg(long, short)]
    pub quiet: bool,
}

impl DataDirArg {
    /// The data folder named on the command line or in the environment, if any.
    pub fn data_dir_override(&self) -> DataDirOverride {
        if let Some(dir) = &self.data_dir {
            return Some((dir.clone(), DataDirSource::Flag));
        }
        std::env::var_os("FAIRBINN_DATA_DIR")
            .filter(|dir| !dir.is_empty())
            .map(|dir| (PathBuf::from(dir), DataDirSource::Environment))
    }
}

impl RunArgs {
    pub fn jobs(&self) -> usize {
        self.jobs
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}
