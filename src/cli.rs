//! Command-line definitions.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::config::DataDirOverride;
use crate::data::DataDirSource;
use crate::plan::Shard;
use crate::results::layout::shards_dir;

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
    /// Check an experiment file and print its trials and an estimate of the run time, without
    /// training.
    Plan(SweepArgs),
    /// Combine the results folders of a sharded sweep into one, then write results and plots.
    Merge(MergeArgs),
    /// Write Slurm batch scripts that run a sweep as an array of shards, then merge them.
    Slurm(SlurmArgs),
    /// Time training on Adult at the paper's and the authors' code's set-ups: per method,
    /// µs per step, s per epoch, FLOPs and the share of a measured GEMM ceiling; evaluation
    /// per split; sweep throughput on one core and on all.
    Bench(BenchArgs),
    /// Look at the data an experiment file describes, without training.
    #[command(subcommand)]
    Data(DataCommand),
    /// Write every table and figure of a results folder again from its CSVs and
    /// manifest.json, without training: after changing nothing, the same bytes.
    Report(ReportArgs),
    /// Predict the rows of a file with a saved model (runs/<name>/models/*.safetensors):
    /// each row's probability and decision, and its group and label when the file has them.
    Predict(PredictArgs),
    /// Per-group rows, selection rate, TPR, FPR and accuracy of one model's predictions, and
    /// ΔDP soft and hard, ΔEO and equalized odds, each with a bootstrap confidence interval.
    Audit(AuditArgs),
}

#[derive(Args)]
pub struct ReportArgs {
    /// The results folder (it holds manifest.json, trials.csv and epochs.csv, or
    /// epochs.csv.gz).
    pub results_dir: PathBuf,
    /// Also write epochs.csv.gz, the per-epoch rows compressed (about a sixth of the size):
    /// what a results folder kept in git holds instead of epochs.csv, for `report` to draw
    /// everything again from.
    #[arg(long)]
    pub gzip_epochs: bool,
    #[command(flatten)]
    pub data: DataDirArg,
}

#[derive(Args)]
pub struct PredictArgs {
    /// A saved model (`.safetensors`).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// A table with the training data's columns, read as the training files were (header
    /// line or not, delimiter, missing-value tokens).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Write the predictions here (CSV) instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct AuditArgs {
    /// A predictions file: `predict`'s, or runs/<name>/predictions/*.csv.
    pub predictions: PathBuf,
    /// The trial to audit, in a file holding several models' rows.
    #[arg(long, value_name = "ID")]
    pub trial: Option<String>,
    /// The epoch to audit, when the file holds several of the trial's.
    #[arg(long, value_name = "E")]
    pub epoch: Option<usize>,
    /// Bootstrap resamples (0: point estimates only; at most 100000).
    #[arg(long, default_value_t = 1000)]
    pub n_boot: usize,
    /// Seed of the resampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The interval's two quantiles.
    #[arg(long, value_name = "LOW,HIGH", value_delimiter = ',', num_args = 2, default_values_t = [0.025, 0.975])]
    pub quantiles: Vec<f64>,
    /// Also write the figures as CSV (metric, group, value, low, high).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
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
    /// Download built-in data sets from their public sources (or a mirror) into the cache
    /// a run looks in, checking each file's SHA-256. Adult, COMPAS and German are also built
    /// into the binary; Health (11 MB) is not.
    Fetch {
        /// Data sets to fetch: adult, compas, german, health.
        names: Vec<String>,
        /// Every built-in data set.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// The folder to put them in. Default: $XDG_CACHE_HOME/fairbinn-sweep, else
        /// ~/.cache/fairbinn-sweep, where runs look.
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
        /// A base URL serving <name>/<file> for every file (e.g. a copy of the cache folder),
        /// instead of the public sources: for clusters without internet.
        #[arg(long, value_name = "URL", env = "FAIRBINN_MIRROR")]
        mirror: Option<String>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Seconds to wait for the server: to connect, for the response's headers, and
        /// between two reads of the body (there is no limit on the whole download).
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        timeout: u64,
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

#[derive(Args, Clone)]
pub struct DataDirArg {
    /// Folder holding the data sets (or the data set's own folder). Overrides
    /// FAIRBINN_DATA_DIR and dataset.data_dir. Looked in after it: the `data fetch` cache,
    /// then the copies built into the binary (Adult, COMPAS, German).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// What `run` and `plan` share: the experiment, its data, where results go, which trials.
#[derive(Args, Clone)]
pub struct SweepArgs {
    /// The experiment file (YAML), e.g. experiments/adult.yaml.
    pub experiment: PathBuf,
    #[command(flatten)]
    pub data: DataDirArg,
    /// The results folder (trials already there are not run again). Default:
    /// runs/<experiment name>, or runs/<experiment name>/shards/<i>-of-<n> for a shard.
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    #[command(flatten)]
    pub jobs: JobsArg,
    /// Only shard i of n (from 1): every n-th trial of the plan. Combine the shards' folders
    /// with `merge`.
    #[arg(long, value_name = "i/n")]
    pub shard: Option<Shard>,
    /// Of a halving search, only rung r (from 1), without deciding: what `slurm` array tasks
    /// run, a decision job deciding over every shard between rungs.
    #[arg(long, hide = true, requires = "shard", value_parser = clap::value_parser!(u16).range(1..))]
    pub rung: Option<u16>,
}

#[derive(Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub sweep: SweepArgs,
    /// More experiment files, run one after another, each into its own folder
    /// (`run experiments/adult_groups_*.yaml`); not with --results-dir or --shard.
    #[arg(value_name = "MORE", conflicts_with_all = ["results_dir", "shard"])]
    pub more: Vec<PathBuf>,
    /// Rerun every trial, discarding results already in the results folder.
    #[arg(long)]
    pub force: bool,
    /// Go ahead without asking, however many trials the plan has.
    #[arg(long, short)]
    pub yes: bool,
    /// Ask before running more trials than this (see `plan` for what they are).
    #[arg(long, value_name = "TRIALS", default_value_t = 500)]
    pub ask_above: usize,
    /// Print no progress, only the final summary and errors.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub predictions: SavePredictionsArg,
}

#[derive(Args, Clone)]
pub struct SavePredictionsArg {
    /// Write each test row's probability, decision, group and label at every point the
    /// selection policies picked (or those named: --save-predictions=last,val-pareto) to
    /// predictions/<selection>.csv; a model not saved is trained again to its epoch.
    #[arg(long, value_name = "SELECTION,…", num_args = 0..=1, require_equals = true, value_delimiter = ',')]
    pub save_predictions: Option<Vec<String>>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// The experiment file the shards ran.
    pub experiment: PathBuf,
    /// Shard folders to merge. Default: every folder in runs/<experiment name>/shards.
    pub shards: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataDirArg,
    /// The folder to merge into. Default: runs/<experiment name>.
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    #[command(flatten)]
    pub predictions: SavePredictionsArg,
}

#[derive(Args)]
pub struct SlurmArgs {
    /// The experiment file (YAML).
    pub experiment: PathBuf,
    #[command(flatten)]
    pub data: DataDirArg,
    /// The merged results' folder; shards go below it. Default: runs/<experiment name>.
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Array tasks, one shard each.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub shards: u16,
    /// Cores per array task (trials it runs at once).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub cpus_per_task: u16,
    /// Each task's time limit (sbatch --time), e.g. 2:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// The partition to submit to (sbatch --partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Submit the array and the merge job (sbatch) instead of only writing the scripts.
    #[arg(long)]
    pub submit: bool,
    /// Of a halving search: decide after rung r (from 1) over every shard's results and
    /// submit the next rung (what the decision job runs).
    #[arg(long, hide = true, value_name = "r", conflicts_with = "submit", value_parser = clap::value_parser!(u16).range(1..))]
    pub decide: Option<u16>,
}

#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub data: DataDirArg,
    /// Timed epochs per method (after one untimed; their median is reported), and epochs per
    /// throughput trial.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub epochs: u16,
    /// Trials per throughput measurement.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub trials: u16,
    /// Instead of timing steps: run this experiment file's halving search and its whole grid
    /// (in temporary folders) and print the epochs each trained, their time and each method's
    /// AOPAC, side by side.
    #[arg(long, value_name = "EXPERIMENT", conflicts_with = "scaling")]
    pub search: Option<PathBuf>,
    /// Instead of timing Adult: how training's cost grows with the training rows (10,000 to
    /// 2,000,000), the accuracy layers' width (32 to 1024) and the groups (2 to 32), per
    /// method, on synthetic data, one point per process on one core (about half an hour).
    /// Writes DIR/scaling.csv and DIR/scaling.svg and prints the fitted log-log slopes.
    #[arg(long, value_name = "DIR")]
    pub scaling: Option<PathBuf>,
    /// With --scaling: a few small points only (seconds), to try it.
    #[arg(long, requires = "scaling")]
    pub quick: bool,
    /// With --scaling: draw DIR/scaling.svg and print the slopes again from DIR/scaling.csv,
    /// without measuring.
    #[arg(long, requires = "scaling", conflicts_with = "quick")]
    pub redraw: bool,
    /// One point of --scaling, measured in this process (what --scaling runs).
    #[arg(long, hide = true, num_args = 5, value_name = "N")]
    pub scaling_point: Option<Vec<usize>>,
    #[command(flatten)]
    pub jobs: JobsArg,
}

#[derive(Args, Clone)]
pub struct JobsArg {
    /// Trials run at once (each on one core). Default: all cores.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
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

impl JobsArg {
    pub fn count(&self) -> usize {
        self.jobs
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// The results folder a command writes: the one named, else runs/<experiment>, with a
/// shard's own folder below it.
pub fn results_dir(named: &Option<PathBuf>, experiment: &str, shard: Option<Shard>) -> PathBuf {
    // A user's own runs go to runs/, which git ignores; results/ holds the committed ones.
    let sweep_dir = Path::new("runs").join(experiment);
    match (named, shard) {
        (Some(dir), _) => dir.clone(),
        (None, None) => sweep_dir,
        (None, Some(shard)) => {
            shards_dir(&sweep_dir).join(format!("{}-of-{}", shard.index, shard.count))
        }
    }
}
