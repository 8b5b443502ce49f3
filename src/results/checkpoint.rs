//! A paused trial's checkpoint on disk (`checkpoints/<trial_id>.safetensors`): each layer's
//! parameters and Adam moments as tensors (`layers.{i}.params`, `.first`, `.second`), the
//! epoch, the collapse stop's count and the optimizers' step counts as metadata. Written when
//! a halving search pauses a trial at a rung, read when it goes on, removed when it ends.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::layout::{checkpoint_path, checkpoints_dir};
use crate::train::{Checkpoint, Moments, State};

const FORMAT: &str = "fairbinn-sweep checkpoint 1";

pub fn save(results_dir: &Path, trial_id: &str, checkpoint: &Checkpoint) -> Result<()> {
    let dir = checkpoints_dir(results_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let state = &checkpoint.state;
    let bytes =
        |values: &[f32]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let tensors: Vec<(String, Vec<u8>)> = (state.params.iter().zip(&state.moments))
        .enumerate()
        .flat_map(|(i, (params, moments))| {
            [
                (format!("layers.{i}.params"), bytes(params)),
                (format!("layers.{i}.first"), bytes(&moments.first)),
                (format!("layers.{i}.second"), bytes(&moments.second)),
            ]
        })
        .collect();
    let views = (tensors.iter())
        .map(|(name, data)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, vec![data.len() / 4], data)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let metadata: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("epoch", checkpoint.epoch.to_string()),
        ("degenerate", checkpoint.degenerate.to_string()),
        ("leader_steps", state.leader_steps.to_string()),
        ("follower_steps", state.follower_steps.to_string()),
        ("layers", state.params.len().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(views, Some(metadata))?;
    crate::files::write_atomically(&checkpoint_path(results_dir, trial_id), &bytes)
}

pub fn load(results_dir: &Path, trial_id: &str) -> Result<Checkpoint> {
    let path = checkpoint_path(results_dir, trial_id);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
    parse(&bytes).with_context(|| format!("{}: a damaged checkpoint", path.display()))
}

fn parse(bytes: &[u8]) -> Result<Checkpoint> {
    let file =
        SafeTensors::deserialize(bytes).map_err(|e| anyhow!("not a safetensors file ({e})"))?;
    let (_, header) = SafeTensors::read_metadata(bytes)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some(FORMAT) {
        bail!("its format is not {FORMAT:?}");
    }
    let number = |key: &str| -> Result<usize> {
        (metadata.get(key).and_then(|v| v.parse().ok()))
            .ok_or_else(|| anyhow!("metadata `{key}`: expected a whole number"))
    };
    let floats = |name: String| -> Result<Vec<f32>> {
        let view = file.tensor(&name)?;
        if view.dtype() != Dtype::F32 {
            bail!("{name}: expected F32");
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };
    let mut state = State {
        params: Vec::new(),
        moments: Vec::new(),
        leader_steps: number("leader_steps")? as i32,
        follower_steps: number("follower_steps")? as i32,
    };
    for i in 0..number("layers")? {
        state.params.push(floats(format!("layers.{i}.params"))?);
        state.moments.push(Moments {
            first: floats(format!("layers.{i}.first"))?,
            second: floats(format!("layers.{i}.second"))?,
        });
    }
    Ok(Checkpoint {
        epoch: number("epoch")?,
        degenerate: number("degenerate")?,
        state,
    })
}

/// Remove a trial's checkpoint once it has ended (missing already is fine).
pub fn remove(results_dir: &Path, trial_id: &str) -> Result<()> {
    let path = checkpoint_path(results_dir, trial_id);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = Checkpoint {
            epoch: 5,
            degenerate: 2,
            state: State {
                params: vec![vec![1.5, -2.0, f32::MIN_POSITIVE], vec![3.0]],
                moments: vec![
                    Moments {
                        first: vec![0.1, 0.2, 0.3],
                        second: vec![1e-9, 2e-9, 3e-9],
                    },
                    Moments {
                        first: vec![4.0],
                        second: vec![5.0],
                    },
                ],
                leader_steps: 1230,
                follower_steps: 1229,
            },
        };
        save(dir.path(), "abc", &checkpoint).unwrap();
        assert_eq!(load(dir.path(), "abc").unwrap(), checkpoint);
        remove(dir.path(), "abc").unwrap();
        remove(dir.path(), "abc").unwrap();
        let error = load(dir.path(), "abc").unwrap_err().to_string();
        assert!(error.contains("cannot read the checkpoint"), "{error}");
    }
}
