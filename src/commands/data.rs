//! `data describe`, `data fetch` and `data bench`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::DataCommand;
use crate::{bench, config, data, escape};

pub fn data(command: &DataCommand) -> Result<ExitCode> {
    match command {
        DataCommand::Describe { experiment, data } => {
            let experiment = config::read(experiment, data.data_dir_override())?;
            // Data values are the file's: shown, never sent to the terminal raw.
            print!(
                "{}",
                escape::visible(&data::load(&experiment.dataset)?.describe())
            );
        }
        DataCommand::Fetch {
            names,
            all,
            to,
            mirror,
            quiet,
            timeout,
        } => {
            let Some(to) = to.clone().or_else(data::catalogue::cache_dir) else {
                bail!("no cache folder: neither XDG_CACHE_HOME nor HOME is set; pass --to DIR");
            };
            data::fetch::fetch(&data::fetch::Request {
                names,
                all: *all,
                to: &to,
                mirror: mirror.as_deref(),
                quiet: *quiet,
                timeout: std::time::Duration::from_secs((*timeout).max(1)),
            })?;
        }
        DataCommand::Bench { data, repeat } => {
            bench::loading::loading(data.data_dir_override(), (*repeat).into())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
