//! Scale-out on a Slurm cluster: an `sbatch` array with one task per shard (`run --shard
//! i/n`), and a merge job that starts when every task has ended, whatever their exit codes,
//! so that a trial that diverged in one shard does not hold back the merged report.
//!
//! A halving search on several shards runs rung by rung: an array per rung (`run --shard i/n
//! --rung r`: each shard's trials still alive, to the rung's epoch), then a decision job
//! (`slurm --decide r`) that reads every shard's folder, keeps each method's best
//! configurations as one machine would, records the others' trials as halved in their shards,
//! and submits the next rung's array and the job after it; the merge follows the last rung.
//! These jobs too start after their array has ended whatever its exit code (a diverged trial
//! makes `run` exit 1); the decision job checks that every trial reached the rung instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::config::ExperimentFile;
use crate::results::layout::{self, shards_dir};

/// What the scripts ask of Slurm, and the data folder named on the command line.
pub struct Options {
    /// Array tasks, one shard each.
    pub shards: u16,
    /// Cores per array task (trials it runs at once).
    pub cpus_per_task: u16,
    /// sbatch --time.
    pub time: Option<String>,
    /// sbatch --partition.
    pub partition: Option<String>,
    pub data_dir: Option<PathBuf>,
}

pub struct Scripts {
    pub dir: PathBuf,
    /// The array of shards; of a halving search, one per rung.
    pub arrays: Vec<PathBuf>,
    /// Of a halving search on shards, the decision job after each rung but the last.
    pub decisions: Vec<PathBuf>,
    pub merge: PathBuf,
    pub submit: PathBuf,
}

/// The array script of rung `rung` (from 1) of a halving search in `dir`.
pub fn rung_array(dir: &Path, rung: usize) -> PathBuf {
    dir.join(format!("rung-{rung}.sbatch"))
}

/// The decision job's script after rung `rung`.
pub fn decision(dir: &Path, rung: usize) -> PathBuf {
    dir.join(format!("decide-{rung}.sbatch"))
}

pub fn write_scripts(
    args: &Options,
    experiment: &ExperimentFile,
    results_dir: &Path,
) -> Result<Scripts> {
    // Jobs start elsewhere (another node, another working directory): every path absolute.
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let program = std::env::current_exe().context("cannot find this program's path")?;
    let working_dir = std::env::current_dir()?;
    let results_dir = absolute(results_dir);
    // Quoting keeps a path one word, but a line break ends a line whatever the quotes, and on
    // an `#SBATCH` comment line the rest would run: no control character reaches a script.
    let data_dir_given = args.data_dir.as_deref().map(absolute);
    for (what, path) in [
        ("--results-dir", Some(&results_dir)),
        ("the experiment file", Some(&absolute(&experiment.path))),
        ("--data-dir", data_dir_given.as_ref()),
        ("the working folder", Some(&working_dir)),
        ("this program's path", Some(&program)),
    ] {
        if let Some(path) = path
            && path.to_string_lossy().chars().any(char::is_control)
        {
            bail!(
                "slurm: {what} {path:?} holds a control character (a line break would end a \
                 line of the batch script); use a path without one"
            );
        }
    }
    let experiment_file = quote(&absolute(&experiment.path));
    let data_dir = match &args.data_dir {
        Some(dir) => format!(" --data-dir {}", quote(&absolute(dir))),
        None => String::new(),
    };
    let dir = layout::slurm_dir(&results_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let shards = args.shards;
    let shard_dir = |index: &str| shards_dir(&results_dir).join(format!("{index}-of-{shards}"));
    for (option, value) in [("--time", &args.time), ("--partition", &args.partition)] {
        if let Some(value) = value.as_deref().filter(|v| !is_plain(v)) {
            bail!("slurm {option}: expected letters, digits and any of `:-_.,+`, found {value:?}");
        }
    }

    let mut options = Vec::new();
    if let Some(time) = &args.time {
        options.push(format!("#SBATCH --time={time}"));
    }
    if let Some(partition) = &args.partition {
        options.push(format!("#SBATCH --partition={partition}"));
    }
    let options = options.iter().map(|o| format!("{o}\n")).collect::<String>();
    let name = &experiment.name;

    // A halving search on several shards: one array per rung, and a decision between rungs.
    let rungs = match &experiment.halving {
        Some(halving) if shards > 1 => halving.rungs.len(),
        _ => 0,
    };
    // The task's id is the one word the shell expands: everything else is quoted.
    let task_dir = format!(
        "{}\"${{SLURM_ARRAY_TASK_ID}}\"{}",
        quote_text(&format!("{}/", shards_dir(&results_dir).display())),
        quote_text(&format!("-of-{shards}"))
    );
    let program_line = |extra: &str| {
        format!(
            "exec {program} run {experiment_file}{data_dir} --shard \"${{SLURM_ARRAY_TASK_ID}}/{shards}\"{extra} --jobs {cpus} --yes --results-dir {task_dir}",
            program = quote(&program),
            cpus = args.cpus_per_task,
        )
    };
    let array_script = |what: &str, job: &str, log: &str, extra: &str| {
        format!(
            "#!/bin/bash
# Written by `fairbinn-sweep slurm`: {what} of {name}, one array task each.
#SBATCH --job-name={job}
#SBATCH --array=1-{shards}
#SBATCH --cpus-per-task={cpus}
#SBATCH --output={log}
{options}cd {working_dir}
{line}
",
            cpus = args.cpus_per_task,
            log = quote(&dir.join(log)),
            working_dir = quote(&working_dir),
            line = program_line(extra),
        )
    };
    let mut arrays = Vec::new();
    let mut decisions = Vec::new();
    if rungs == 0 {
        let array = dir.join("array.sbatch");
        let text = array_script(&format!("shard i of {shards}"), name, "shard-%a.log", "");
        write(&array, &text)?;
        arrays.push(array);
    }
    for rung in 1..=rungs {
        let array = rung_array(&dir, rung);
        let text = array_script(
            &format!("rung {rung} of {rungs} of the halving search, shard i of {shards}"),
            &format!("{name}-rung{rung}"),
            &format!("shard-%a-rung-{rung}.log"),
            &format!(" --rung {rung}"),
        );
        write(&array, &text)?;
        arrays.push(array);
        if rung == rungs {
            break;
        }
        let decide = decision(&dir, rung);
        write(
            &decide,
            &format!(
                "#!/bin/bash
# Written by `fairbinn-sweep slurm`: after rung {rung} of {name}'s halving search, keeps each
# method's best configurations and submits rung {next}.
#SBATCH --job-name={name}-decide{rung}
#SBATCH --cpus-per-task=1
#SBATCH --output={log}
{options}cd {working_dir}
exec {program} slurm {experiment_file}{data_dir} --results-dir {results} --shards {shards} --decide {rung}
",
                next = rung + 1,
                log = quote(&dir.join(format!("decide-{rung}.log"))),
                working_dir = quote(&working_dir),
                program = quote(&program),
                results = quote(&results_dir),
            ),
        )?;
        decisions.push(decide);
    }

    let merge = dir.join("merge.sbatch");
    let shard_dirs: Vec<String> = (1..=shards)
        .map(|index| quote(&shard_dir(&index.to_string())))
        .collect();
    write(
        &merge,
        &format!(
            "#!/bin/bash
# Written by `fairbinn-sweep slurm`: merges the {shards} shards of {name} once they have ended.
#SBATCH --job-name={name}-merge
#SBATCH --cpus-per-task=1
#SBATCH --output={log}
{options}cd {working_dir}
exec {program} merge {experiment_file}{data_dir} --results-dir {results} {shard_dirs}
",
            log = quote(&dir.join("merge.log")),
            working_dir = quote(&working_dir),
            program = quote(&program),
            results = quote(&results_dir),
            shard_dirs = shard_dirs.join(" "),
        ),
    )?;

    let submit = dir.join("submit.sh");
    let (first, after) = (&arrays[0], decisions.first().unwrap_or(&merge));
    let what = match decisions.is_empty() {
        true => "merge",
        false => "decision",
    };
    write(
        &submit,
        &format!(
            "#!/bin/sh
# Submit the array, then the {what} job to start when every array task has ended.
set -e
array=$(sbatch --parsable {first})
next=$(sbatch --parsable --dependency=afterany:${{array%%;*}} {after})
echo \"array job ${{array%%;*}}, {what} job ${{next%%;*}}\"
",
            first = quote(first),
            after = quote(after),
        ),
    )?;
    Ok(Scripts {
        dir,
        arrays,
        decisions,
        merge,
        submit,
    })
}

impl Scripts {
    pub fn describe(&self) -> String {
        let arrays = match self.arrays.len() {
            1 => format!("{} (the array of shards)", self.arrays[0].display()),
            n => format!(
                "{} … {} (an array of shards per rung of the halving search, {n} rungs), {} … \
                 (the decision after each rung but the last)",
                self.arrays[0].display(),
                self.arrays[n - 1].display(),
                self.decisions[0].display()
            ),
        };
        format!(
            "Wrote {arrays}, {} (the merge) and {} (submits the first array and the job after \
             it). Logs go to {}.",
            self.merge.display(),
            self.submit.display(),
            self.dir.display()
        )
    }

    /// Submit the (first) array, then the job after it: (array job id, that job's id).
    pub fn submit(&self) -> Result<(String, String)> {
        submit_after(
            &self.arrays[0],
            self.decisions.first().unwrap_or(&self.merge),
        )
    }
}

/// Submit `array`, then `after` to start once every task of it has ended: both job ids.
pub fn submit_after(array: &Path, after: &Path) -> Result<(String, String)> {
    let array = sbatch(&[], array)?;
    let after = sbatch(&[format!("--dependency=afterany:{array}")], after)?;
    Ok((array, after))
}

fn sbatch(options: &[String], script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(options)
        .arg(script)
        .output()
        .with_context(|| {
            format!(
                "cannot run sbatch (is this a Slurm login node?); the scripts are written, \
                 submit them later with `sh {}`",
                script.with_file_name("submit.sh").display()
            )
        })?;
    if !output.status.success() {
        bail!(
            "sbatch {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    // `--parsable` prints `id` or `id;cluster`.
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string())
}

fn write(path: &Path, text: &str) -> Result<()> {
    crate::files::write_atomically(path, text.as_bytes())
}

/// A path as one shell word.
fn quote(path: &Path) -> String {
    quote_text(&path.display().to_string())
}

/// Text as one shell word, nothing in it expanded.
fn quote_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Safe in an `#SBATCH` line as it is.
fn is_plain(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.,+".contains(c))
}
