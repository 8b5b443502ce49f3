//! `predict`: a saved model's predictions for a file's rows, to `--out` or standard output;
//! what was predicted (and its metrics, when the file has labels and groups) on standard
//! error.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::PredictArgs;
use crate::files::write_atomically;
use crate::model_file::SavedModel;
use crate::predict::{Writer, predict_file};

pub fn predict(args: &PredictArgs) -> Result<ExitCode> {
    let model = SavedModel::read(&args.model)?;
    let predicted = predict_file(&model, &args.data)
        .with_context(|| format!("predicting with {}", args.model.display()))?;
    let write = |out: &mut dyn std::io::Write| -> Result<()> {
        let mut writer = Writer::new("line", false, out)?;
        for row in &predicted.rows {
            writer.row(None, row)?;
        }
        writer.finish()?;
        Ok(())
    };
    match &args.out {
        Some(path) => {
            let mut bytes = Vec::new();
            write(&mut bytes)?;
            write_atomically(path, &bytes)?;
            eprint!("{}", predicted.notes);
            eprintln!("wrote {}", path.display());
        }
        None => {
            eprint!("{}", predicted.notes);
            write(&mut std::io::stdout().lock())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
