//! `fairbinn-sweep bench`: training speed on Adult at the paper's set-up and at the
//! authors' code's, against the machine's own limit. Per method: microseconds per training
//! step, seconds per epoch, the matrix-multiply FLOPs a step needs and the share of a
//! single-core GEMM ceiling (measured in the same run, at the same shapes) that it reaches;
//! evaluation time per split; and sweep throughput on one core and on all of them.

pub mod loading;
pub mod scaling;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use rayon::prelude::*;

use crate::analysis::{self, Analysis, Baseline};
use crate::config::{self, DataDirOverride};
use crate::data::{self, Dataset};
use crate::metrics::SplitMetrics;
use crate::plan;
use crate::results::{self, ResultsStore};
use crate::selection::{FairnessMetric, Selection};
use crate::sweep::{self, ExecuteOptions};
use crate::train::TrialSpec;
use crate::train::fused::{self, Matrix};
use crate::train::knob::{Knobs, Value};
use crate::train::{self, Backend, Evaluated, Method, Players, Trainer, Turn};

/// The two set-ups the issue and the README quote, each with every method.
const SETUPS: [(&str, &str); 2] = [
    ("paper", "preset: paper"),
    ("authors-code", "preset: authors-code"),
];

pub struct Options {
    /// Timed epochs per method (after one untimed).
    pub epochs: usize,
    /// Trials per throughput measurement.
    pub trials: usize,
}

pub fn run(data_dir: DataDirOverride, options: &Options) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (name, preset) in SETUPS {
        // stackelberg looking one and three follower steps ahead.
        let text = format!(
            "name: bench\n{preset}\ndataset: {{name: adult}}\n\
             sweep: {{method: [{}], methods: {{stackelberg: {{unroll: [1, 3]}}}}}}\n",
            (Method::ALL.iter())
                .filter(|m| m.is_stepped())
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let experiment = config::parse(&text, Path::new("bench.yaml"), data_dir.clone())?;
        let data = data::load(&experiment.dataset)?;
        let first = &experiment.points[0];
        let (batch, width) = (
            first.train.batch_size,
            first.architecture.width.unwrap_or(data.train.n_features),
        );
        let ceiling = gemm_ceiling(batch, width);
        println!(
            "\n{name}: Adult, {} training rows, batch {batch}, width {width}, {} accuracy + {} fairness layers (block at {}); \
             single-core GEMM ceiling [{batch}×{width}]·[{width}×{width}]: {:.1} GFLOP/s",
            data.train.n_rows(),
            first.architecture.accuracy_layers,
            first.architecture.fairness_layers,
            first.architecture.fairness_position,
            ceiling / 1e9
        );
        println!(
            "  {:<29} {:>9} {:>9} {:>11} {:>9} {:>9}",
            "method", "µs/step", "s/epoch", "MFLOP/step", "GFLOP/s", "ceiling"
        );
        // The ndarray backend too, when this build has it, to compare.
        let backends = Backend::ALL.iter().filter(|backend| backend.is_available());
        let trials: Vec<TrialSpec> = backends
            .flat_map(|&backend| {
                experiment
                    .points
                    .iter()
                    .filter(move |trial| trial.train.method.info().engines.contains(&backend))
                    .map(move |trial| TrialSpec {
                        train: train::TrainSpec {
                            backend,
                            ..trial.train
                        },
                        ..trial.clone()
                    })
            })
            .collect();
        let mut steps = Vec::new();
        for trial in &trials {
            let timing = time_training(trial, &data, options.epochs);
            if trial.train.backend == Backend::Fused {
                steps.push((trial.train.method, timing.step.as_secs_f64()));
            }
            let flops = flops_per_step(trial, &data);
            let achieved = flops / timing.step.as_secs_f64();
            let mut label = trial.train.method.to_string();
            if trial.train.method == Method::Stackelberg {
                label += &format!(" unroll {}", trial.train.unroll());
            }
            if trial.train.backend != Backend::Fused {
                label += &format!(" ({})", trial.train.backend.as_str());
            }
            println!(
                "  {:<29} {:>9.0} {:>9.3} {:>11.2} {:>9.1} {:>8.0}%",
                label,
                timing.step.as_secs_f64() * 1e6,
                timing.epoch.as_secs_f64(),
                flops / 1e6,
                achieved / 1e9,
                100.0 * achieved / ceiling
            );
        }
        let erm = steps.iter().find(|(m, _)| *m == Method::Erm).map(|s| s.1);
        let adversarial = steps
            .iter()
            .find(|(m, _)| *m == Method::Adversarial)
            .map(|s| s.1);
        if let (Some(erm), Some(adversarial)) = (erm, adversarial) {
            println!("  adversarial step / erm step: {:.2}×", adversarial / erm);
        }
        let timing = time_evaluation(first, &data);
        println!(
            "  evaluation (forward pass and metrics, after each epoch): validation {} rows {:.1} ms, test {} rows {:.1} ms",
            data.validation.n_rows(),
            timing.0.as_secs_f64() * 1e3,
            data.test.n_rows(),
            timing.1.as_secs_f64() * 1e3
        );
        time_baselines(first, &data);
        let fairbinn = experiment
            .points
            .iter()
            .find(|t| t.train.method == Method::FairBiNN)
            .expect("the sweep has fairbinn");
        let one = throughput(fairbinn, &data, options, 1);
        let all = throughput(fairbinn, &data, options, cores);
        println!(
            "  sweep throughput ({} fairbinn trials of {} epochs): {one:.1} trials/min on 1 core, {all:.1} on {cores} ({:.2}×)",
            options.trials,
            options.epochs,
            all / one
        );
    }
    Ok(())
}

/// The baselines fitted whole or post hoc: fitting `threshold` on one epoch's validation
/// probabilities (of an erm network after an epoch), one `gbdt` fit, and `reductions` points
/// over logistic regression and over trees, on one core.
fn time_baselines(trial: &TrialSpec, data: &Dataset) {
    use crate::train::threshold_optimizer::{self, Constraint, ThresholdSpec};
    let erm = train::TrainSpec {
        method: Method::Erm,
        epochs: 1,
        ..trial.train
    };
    let mut trainer = Trainer::new(&trial.architecture, &erm, data);
    trainer.train_epoch(1);
    let [scores] = trainer.probabilities([Evaluated::Validation]);
    let v = &data.validation;
    for (constraint, randomized, tolerance) in [
        (Constraint::DemographicParity, false, 0.005),
        (Constraint::DemographicParity, true, 0.005),
        (Constraint::EqualizedOdds, false, 0.01),
        (Constraint::EqualizedOdds, true, 0.0),
    ] {
        let spec = ThresholdSpec {
            constraint,
            tolerance,
            randomized,
        };
        let mut best = Duration::MAX;
        for _ in 0..20 {
            let started = Instant::now();
            let fitted =
                threshold_optimizer::fit(&spec, &scores, &v.labels, &v.groups, data.n_groups());
            std::hint::black_box(fitted.ok());
            best = best.min(started.elapsed());
        }
        println!(
            "  threshold fit ({}, {}, tolerance {tolerance}) on {} validation rows: {:.1} ms",
            if randomized {
                "randomized"
            } else {
                "deterministic"
            },
            constraint.as_str(),
            v.n_rows(),
            best.as_secs_f64() * 1e3
        );
    }
    // Each with its defaults: one fit of the trees, and reductions points over both learners.
    let with_defaults = |method: Method| train::TrainSpec {
        method,
        knobs: Knobs::of(
            method.knobs(),
            |_| None,
            |_| unreachable!("no default names another"),
        ),
        ..trial.train
    };
    let timed = |spec: &train::TrainSpec| {
        let started = Instant::now();
        train::train(&trial.architecture, spec, data, &mut |_, _| {});
        started.elapsed().as_secs_f64()
    };
    let rows = data.train.n_rows();
    let seconds = timed(&with_defaults(Method::Gbdt));
    println!("  gbdt fit (its defaults) on {rows} training rows, one core: {seconds:.2} s");
    use train::methods::Learner;
    for (learner, bound) in [
        (Learner::Logistic, 0.001),
        (Learner::Logistic, 0.01),
        (Learner::Gbdt, 0.01),
    ] {
        let mut spec = with_defaults(Method::Reductions {
            learner,
            randomized: true,
        });
        spec.set("difference_bound", Value::Number(bound));
        println!(
            "  {} point (dp, difference_bound {bound}) on {rows} training rows, one core: {:.2} s",
            spec.method.name(),
            timed(&spec)
        );
    }
}

struct Timing {
    step: Duration,
    epoch: Duration,
}

/// A halving search against its whole grid: each run in a temporary folder on `jobs`
/// threads, then per method the trial-epochs, wall time and validation-Pareto AOPAC on soft
/// and hard ΔDP.
pub fn search(experiment: &Path, data_dir: DataDirOverride, jobs: usize) -> Result<()> {
    let file = config::read(experiment, data_dir)?;
    let Some(halving) = file.halving.clone() else {
        anyhow::bail!(
            "{}: has no `search: {{halving: ..}}` to compare",
            experiment.display()
        );
    };
    let data = data::load(&file.dataset)?;
    let plan = plan::plan(&file, &data.files);
    let selection = [Selection::ValPareto];
    let mut rows = Vec::new();
    for (name, halving) in [("whole grid", None), ("halving", Some(halving))] {
        let dir = std::env::temp_dir().join(format!(
            "fairbinn-sweep-bench-{}-{}",
            std::process::id(),
            name.replace(' ', "-")
        ));
        let mut store = ResultsStore::open(&dir, true)?;
        let options = ExecuteOptions {
            jobs,
            quiet: true,
            models: None,
            halving: halving.map(|h| (h, file.fairness_metric)),
            rung: None,
            downstream: None,
        };
        eprintln!("{name}: {} trials on {jobs} threads…", plan.trials.len());
        let started = Instant::now();
        let summary = sweep::execute(&plan, &data::Splits::one(&data), &mut store, &options)?;
        let seconds = started.elapsed().as_secs_f64();
        drop(store);
        let (records, epochs) = results::read_results(&dir)?;
        let _ = std::fs::remove_dir_all(&dir);
        let configurations =
            analysis::configurations(&plan, &records, epochs, data.train.n_features);
        let mut analysis = Analysis::new(
            configurations,
            &selection,
            file.fairness_metric,
            &file.fronts_by,
            Baseline::of(&data),
            0,
        );
        rows.push((
            name,
            summary.epochs,
            seconds,
            analysis.selected.remove(0).methods,
        ));
    }
    let full_epochs = rows[0].1.max(1) as f64;
    println!(
        "\n{}: {} trials; validation-Pareto selection; AOPAC on soft / hard ΔDP",
        file.name,
        plan.trials.len()
    );
    println!(
        "  {:<12} {:>13} {:>9}  AOPAC per method",
        "run", "trial-epochs", "wall"
    );
    for (name, epochs, seconds, methods) in &rows {
        let aopac: Vec<String> = (methods.iter())
            .map(|m| {
                let on = |metric| m.on(metric).aopac;
                format!(
                    "{} {:.4} / {:.4}",
                    m.method,
                    on(FairnessMetric::DpSoft),
                    on(FairnessMetric::DpHard)
                )
            })
            .collect();
        println!(
            "  {name:<12} {:>6} ({:>3.0}%) {:>9}  {}",
            epochs,
            100.0 * *epochs as f64 / full_epochs,
            crate::sweep::estimate::human(*seconds),
            aopac.join(", ")
        );
    }
    Ok(())
}

/// Train one untimed epoch, then time `epochs` more (training only, no evaluation) and take
/// their median: a shared machine's hiccups move the mean, not the median.
fn time_training(trial: &TrialSpec, data: &Dataset, epochs: usize) -> Timing {
    let mut trainer = Trainer::new(&trial.architecture, &trial.train, data);
    trainer.train_epoch(1);
    let mut times: Vec<Duration> = (2..=epochs + 1)
        .map(|epoch| {
            let started = Instant::now();
            trainer.train_epoch(epoch);
            started.elapsed()
        })
        .collect();
    times.sort_unstable();
    let epoch = times[times.len() / 2];
    Timing {
        step: epoch / trainer.steps_per_epoch() as u32,
        epoch,
    }
}

/// (validation, test): the best of five forward passes with their metrics.
fn time_evaluation(trial: &TrialSpec, data: &Dataset) -> (Duration, Duration) {
    let trainer = Trainer::new(&trial.architecture, &trial.train, data);
    let time = |which: Evaluated| {
        let split = which.of(data);
        (0..5)
            .map(|_| {
                let started = Instant::now();
                let [probabilities] = trainer.probabilities([which]);
                SplitMetrics::compute(
                    &probabilities,
                    &split.labels,
                    &split.groups,
                    data.n_groups(),
                );
                started.elapsed()
            })
            .min()
            .expect("five runs")
    };
    (time(Evaluated::Validation), time(Evaluated::Test))
}

/// Trials per minute with `jobs` trials at a time (each on one thread), as a sweep runs them.
fn throughput(trial: &TrialSpec, data: &Dataset, options: &Options, jobs: usize) -> f64 {
    let spec = train::TrainSpec {
        epochs: options.epochs,
        ..trial.train
    };
    let trials: Vec<train::TrainSpec> = (0..options.trials)
        .map(|seed| train::TrainSpec {
            seed: seed as u64,
            ..spec
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .expect("threads start");
    let started = Instant::now();
    pool.install(|| {
        trials.par_iter().for_each(|spec| {
            train::train(&trial.architecture, spec, data, &mut |_, _| {});
        })
    });
    options.trials as f64 / started.elapsed().as_secs_f64() * 60.0
}

/// What one `Linear(d_in, d_out)` costs on `rows` rows: its forward matrix product, and in
/// backward the weight's gradient and the input's gradient.
const fn product(rows: f64, d_in: usize, d_out: usize) -> f64 {
    2.0 * rows * d_in as f64 * d_out as f64
}

/// The matrix-multiply FLOPs one training step needs (a leader step and its follower steps
/// for bilevel methods), counting only the gradients each half-step computes: weights of the
/// layers it trains, and inputs of the layers above the lowest of those. Counted by running
/// the method's own rule on a counter of the half-steps (as the fused engine computes them).
fn flops_per_step(trial: &TrialSpec, data: &Dataset) -> f64 {
    let (a, t) = (&trial.architecture, &trial.train);
    let mut counter = FlopCounter {
        rows: data.train.n_rows() as f64 / data.train.n_rows().div_ceil(t.batch_size) as f64,
        layers: a.layer_shapes(data.train.n_features),
        block: a.block(),
        flops: 0.0,
    };
    let (leader, follower): (&[usize], &[usize]) = (&[0], &[1]);
    let followers = match t.method.is_bilevel() {
        true => vec![follower; t.follower_steps()],
        false => Vec::new(),
    };
    let turn = Turn {
        leader,
        followers: &followers,
        rates: t.learning_rates(1),
        settings: t,
    };
    (t.method.info().step)(&mut counter, &turn);
    counter.flops
}

/// Adds up the matrix products of the half-steps it is asked for.
struct FlopCounter {
    /// Rows per step, on average over an epoch.
    rows: f64,
    layers: Vec<(usize, usize)>,
    block: std::ops::Range<usize>,
    flops: f64,
}

impl FlopCounter {
    /// One forward and backward pass training the layers `trains` says.
    fn pass(&mut self, trains: impl Fn(usize) -> bool) {
        let lowest = (0..self.layers.len())
            .find(|&i| trains(i))
            .unwrap_or(self.layers.len());
        self.flops += self
            .layers
            .iter()
            .enumerate()
            .map(|(i, &(d_in, d_out))| {
                let forward = product(self.rows, d_in, d_out);
                let weight = if trains(i) { forward } else { 0.0 };
                let input = if i > lowest { forward } else { 0.0 };
                forward + weight + input
            })
            .sum::<f64>();
    }
}

impl Players for FlopCounter {
    fn joint_step(&mut self, _: &[usize], _: f64, _: bool) {
        self.pass(|_| true);
    }

    fn leader_step(&mut self, _: &[usize], _: f64, _: bool, _: bool) {
        let block = self.block.clone();
        self.pass(|i| !block.contains(&i));
    }

    /// A pass that keeps the leak trains every layer: θf, and θa with the leak.
    fn follower_step(&mut self, _: &[usize], _: f64, keep_leak: bool) -> bool {
        let block = self.block.clone();
        self.pass(|i| keep_leak || block.contains(&i));
        keep_leak
    }

    fn keep_leak(&mut self, _: &[usize]) -> bool {
        let block = self.block.clone();
        self.pass(|i| !block.contains(&i));
        true
    }

    /// A pass of BCE over every layer, then the adversary's gradient back through them all
    /// (a backward without its forward; the adversary's own few units are not counted).
    fn adversarial_step(&mut self, _: &[usize], _: f64, _: f64, _: f64) {
        self.pass(|_| true);
        let forward: f64 = (self.layers.iter())
            .map(|&(d_in, d_out)| product(self.rows, d_in, d_out))
            .sum();
        self.pass(|_| true);
        self.flops -= forward;
    }

    /// Per unrolled step a follower pass, then a pass of BCE over every layer, and per step
    /// back two passes over every layer (the Hessian-vector product's differences).
    fn anticipating_leader_step(
        &mut self,
        _: &[usize],
        _: f64,
        _: &[&[usize]],
        _: f64,
        unroll: usize,
    ) {
        let block = self.block.clone();
        for _ in 0..unroll {
            self.pass(|i| block.contains(&i));
        }
        for _ in 0..1 + 2 * unroll {
            self.pass(|_| true);
        }
    }
}

/// FLOP/s of the single-threaded `gemm` kernel (the one burn's Flex backend calls, called
/// directly into a buffer made once) at the network's shape: the best of 20 rounds.
fn gemm_ceiling(rows: usize, width: usize) -> f64 {
    let filled = |n: usize| (0..n).map(|i| (i % 7) as f32 * 0.1).collect::<Vec<f32>>();
    let (a, b, mut out) = (
        filled(rows * width),
        filled(width * width),
        filled(rows * width),
    );
    let mut best = Duration::MAX;
    for _ in 0..20 {
        let repeats = 200;
        let started = Instant::now();
        for _ in 0..repeats {
            let (a, b) = (
                Matrix::rows(&a, rows, width),
                Matrix::rows(&b, width, width),
            );
            fused::product(std::hint::black_box(&mut out), a, b, false);
        }
        best = best.min(started.elapsed() / repeats);
    }
    product(rows as f64, width, width) / best.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Split;
    use crate::model::Architecture;
    use crate::train::knob::Value;
    use crate::train::{FollowerBatch, StepOrder, TrainSpec};

    /// Inputs 2 → hidden 3 (θa) → block 3 (θf) → output 1, on 8 rows in batches of 4.
    fn trial(method: Method) -> (TrialSpec, Dataset) {
        let split = Split {
            features: vec![0.0; 16],
            n_features: 2,
            labels: vec![0.0; 8],
            groups: vec![0; 8],
        };
        let data = Dataset::in_memory("tiny", &["a", "b"], &["g"], split);
        let spec = TrialSpec {
            architecture: Architecture {
                accuracy_layers: 1,
                fairness_layers: 1,
                fairness_position: 2,
                width: Some(3),
            },
            train: TrainSpec::for_tests(method),
        };
        (spec, data)
    }

    #[test]
    fn flops_count_only_the_gradients_each_half_step_needs() {
        // Products 2·4·d_in·d_out: layer 0 (2→3) 48, block (3→3) 72, output (3→1) 24.
        // erm: every forward, weight and input product but the first layer's input: 384.
        // fairbinn's leader: no weight gradient for the block: 96 + 144 + 72 = 312; its
        // follower: forward 48 + 72 + 24, the block's weight 72, the output's input 24: 240.
        // The authors' rule, follower first on the leader's batch: the follower's pass also
        // gives θa its leaked gradient, so it costs erm's 384 in place of 240: 696.
        for (method, flops) in [
            (Method::Erm, 384.0),
            (Method::FairBiNN, 552.0),
            (Method::FairBiNNReference, 696.0),
        ] {
            let (mut spec, data) = trial(method);
            if method == Method::FairBiNNReference {
                let (order, batch) = (StepOrder::FollowerFirst, FollowerBatch::Same);
                spec.train.set("step_order", Value::Choice(order.as_str()));
                spec.train
                    .set("follower_batch", Value::Choice(batch.as_str()));
            }
            assert_eq!(flops_per_step(&spec, &data), flops, "{method:?}");
        }
    }
}
