//! How long a plan will take, before spending it: one epoch of each kind of trial (same
//! method, network and batching; η, rates and seeds do not change the cost) is trained and
//! timed on the real data, then scaled by each trial's epochs and spread over the workers.

use std::time::Instant;

use crate::data::Dataset;
use crate::plan::Trial;
use crate::train::{self, Backend};

pub struct Estimate {
    /// Seconds of training summed over the trials.
    pub serial_seconds: f64,
    /// Seconds until the last trial ends with `jobs` trials at a time.
    pub wall_seconds: f64,
    pub jobs: usize,
    /// (kind of trial, seconds per epoch), as timed.
    pub kinds: Vec<(String, f64)>,
}

pub fn estimate(trials: &[&Trial], data: &Dataset, jobs: usize) -> Estimate {
    let mut kinds: Vec<(String, f64)> = Vec::new();
    let mut durations = Vec::with_capacity(trials.len());
    // Networks trained: `threshold` trials read one network per base trial (execute.rs).
    let mut networks = std::collections::HashSet::new();
    for trial in trials {
        let network = format!(
            "{:?}",
            (trial.spec.train.trained(), &trial.spec.architecture)
        );
        if !networks.insert(network) {
            continue;
        }
        let kind = kind(trial);
        let per_epoch = match kinds.iter().find(|(k, _)| *k == kind) {
            Some((_, seconds)) => *seconds,
            None => {
                let one_epoch = train::TrainSpec {
                    epochs: 1,
                    ..trial.spec.train
                };
                let started = Instant::now();
                train::train(&trial.spec.architecture, &one_epoch, data, &mut |_, _| {});
                let seconds = started.elapsed().as_secs_f64();
                kinds.push((kind, seconds));
                seconds
            }
        };
        durations.push(per_epoch * trial.spec.train.epochs as f64);
    }
    let jobs = jobs.max(1);
    Estimate {
        serial_seconds: durations.iter().sum(),
        wall_seconds: makespan(&mut durations, jobs),
        jobs,
        kinds,
    }
}

/// What a trial's cost depends on, in words: `fairbinn, batch 100, layers 2+1 of 102`.
fn kind(trial: &Trial) -> String {
    let (t, a) = (&trial.spec.train, &trial.spec.architecture);
    let mut follower = if t.method.is_bilevel() {
        format!(
            ", follower {:?} ×{}",
            t.follower_batch(),
            t.follower_steps()
        )
    } else {
        String::new()
    };
    // Each step of look-ahead costs about a step of fairbinn's.
    if t.method.trained() == crate::train::Method::Stackelberg {
        follower += &format!(", unroll {}", t.unroll());
    }
    let width = a.width.map_or("input width".to_string(), |w| w.to_string());
    let backend = match t.backend {
        Backend::Fused => String::new(),
        other => format!(", {}", other.as_str()),
    };
    if t.is_fitted_whole() {
        return format!("{}, one fit", t.method.trained().name());
    }
    if t.method.is_representation() {
        let count = |name| t.knobs.count(name).unwrap_or(0);
        return format!(
            "{}, batch {}, encoder width {}, z {}",
            t.method.name(),
            t.batch_size,
            count("encoder_width"),
            count("z_size")
        );
    }
    format!(
        "{}, batch {}, layers {}+{} of {width}{follower}{backend}",
        t.method.trained().name(),
        t.batch_size,
        a.accuracy_layers,
        a.fairness_layers
    )
}

/// When the last of `durations` ends on `workers` that each take the longest one left
/// (a close bound for rayon's work stealing).
fn makespan(durations: &mut [f64], workers: usize) -> f64 {
    durations.sort_by(|a, b| b.total_cmp(a));
    let mut ends = vec![0.0f64; workers];
    for duration in durations.iter() {
        let soonest = ends
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one worker");
        *soonest += duration;
    }
    ends.into_iter().fold(0.0, f64::max)
}

/// `1 h 05 min`, `3 min 20 s`, `12 s`.
pub fn human(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {:02} s", seconds / 60, seconds % 60),
        _ => format!("{} h {:02} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_trials_are_spread_first() {
        // 4+2 on one worker, 3+3 on the other.
        assert_eq!(makespan(&mut [2.0, 3.0, 4.0, 3.0], 2), 6.0);
        assert_eq!(makespan(&mut [5.0, 1.0], 4), 5.0);
        assert_eq!(makespan(&mut [1.0, 2.0, 3.0], 1), 6.0);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(12.4), "12 s");
        assert_eq!(human(200.0), "3 min 20 s");
        assert_eq!(human(3900.0), "1 h 05 min");
    }
}
