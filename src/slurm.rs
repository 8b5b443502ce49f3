//! Scale-out on a Slurm cluster: an `sbatch` array with one task per shard (`run --shard
//! i/n`), and a merge job that starts when every task has ended, whatever their exit codes,
//! so that a trial that diverged in one shard does not hold back the merged report.

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
    pub array: PathBuf,
    pub merge: PathBuf,
    pub submit: PathBuf,
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

    let array = dir.join("array.sbatch");
    // The task's id is the one word the shell expands: everything else is quoted.
    let task_dir = format!(
        "{}\"${{SLURM_ARRAY_TASK_ID}}\"{}",
        quote_text(&format!("{}/", shards_dir(&results_dir).display())),
        quote_text(&format!("-of-{shards}"))
    );
    write(
        &array,
        &format!(
            "#!/bin/bash
# Written by `fairbinn-sweep slurm`: shard i of {shards} of {name}, one array task each.
#SBATCH --job-name={name}
#SBATCH --array=1-{shards}
#SBATCH --cpus-per-task={cpus}
#SBATCH --output={log}
{options}cd {working_dir}
exec {program} run {experiment_file}{data_dir} --shard \"${{SLURM_ARRAY_TASK_ID}}/{shards}\" --jobs {cpus} --yes --results-dir {task_dir}
",
            cpus = args.cpus_per_task,
            log = quote(&dir.join("shard-%a.log")),
            working_dir = quote(&working_dir),
            program = quote(&program),
        ),
    )?;

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
    write(
        &submit,
        &format!(
            "#!/bin/sh
# Submit the array, then the merge job to start when every array task has ended.
set -e
array=$(sbatch --parsable {array})
merge=$(sbatch --parsable --dependency=afterany:${{array%%;*}} {merge})
echo \"array job ${{array%%;*}}, merge job ${{merge%%;*}}\"
",
            array = quote(&array),
            merge = quote(&merge),
        ),
    )?;
    Ok(Scripts {
        dir,
        array,
        merge,
        submit,
    })
}

impl Scripts {
    pub fn describe(&self) -> String {
        format!(
            "Wrote {} (the array of shards), {} (the merge) and {} (submits both). \
             Logs go to {}.",
            self.array.display(),
            self.merge.display(),
            self.submit.display(),
            self.dir.display()
        )
    }

    /// Submit the array, then the merge depending on it: (array job id, merge job id).
    pub fn submit(&self) -> Result<(String, String)> {
        let array = sbatch(&[], &self.array)?;
        let merge = sbatch(&[format!("--dependency=afterany:{array}")], &self.merge)?;
        Ok((array, merge))
    }
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
