//! `audit`: one model's per-group figures with bootstrap intervals, printed (and with
//! `--out`, as CSV).

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::audit::{self, Bootstrap};
use crate::cli::AuditArgs;
use crate::files::write_atomically;

pub fn audit(args: &AuditArgs) -> Result<ExitCode> {
    let [low, high] = args.quantiles[..] else {
        bail!("--quantiles: expected two numbers, LOW,HIGH");
    };
    if !(0.0 < low && low < high && high < 1.0) {
        bail!("--quantiles: expected 0 < LOW < HIGH < 1, found {low},{high}");
    }
    // Each figure's resamples are kept to read their quantiles: bounded, so that a typo
    // (`--n-boot 20000000`) is an error, not the machine's memory (2e6 took 483 MB).
    if args.n_boot > audit::MAX_RESAMPLES {
        bail!(
            "--n-boot: expected at most {} resamples (their figures are held to read the \
             quantiles), found {}",
            audit::MAX_RESAMPLES,
            args.n_boot
        );
    }
    let bootstrap = Bootstrap {
        n_boot: args.n_boot,
        seed: args.seed,
        quantiles: (low, high),
    };
    let rows = audit::read(&args.predictions, args.trial.as_deref(), args.epoch)?;
    let report = audit::audit(&rows, &bootstrap);
    print!("{}", audit::describe(&rows, &report, &bootstrap));
    if let Some(path) = &args.out {
        write_atomically(path, &audit::to_csv(&rows, &report)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
