//! Where the stages of a signature are written: a temporary file beside the output per stage,
//! the last one fsynced and renamed into place. A failure never leaves a half-signed output.
//!
//! Only what is renamed into place, or written as a function's final output, is fsynced: the
//! stages in between are read once and deleted, and syncing each of them (four for a B-LTA
//! signature) cost the disk's latency four times for nothing.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use inkan_pdf::IncrementalUpdate;

use crate::PadesError;

/// Whether a written file must survive a crash once the function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// A function's final output: fsynced.
    Output,
    /// An intermediate stage, read by the next step and deleted (or synced by
    /// [`move_into_place`]).
    Stage,
}

/// Renames the finished stage file to `output` — atomic, as both sit in the same directory.
/// When `durable`, the file is synced first and the directory after, so the output and the
/// rename survive a crash.
pub(crate) fn move_into_place(
    stage: &Path,
    output: &Path,
    durable: bool,
) -> Result<(), PadesError> {
    if durable {
        File::open(stage)
            .and_then(|f| f.sync_all())
            .map_err(|e| PadesError::io(stage, e))?;
    }
    std::fs::rename(stage, output).map_err(|e| PadesError::io(output, e))?;
    if !durable {
        return Ok(());
    }
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

pub(crate) fn stage_path(output: &Path, stage: u32) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".inkan-stage{stage}.tmp"));
    output.with_file_name(name)
}

/// Writes the original and an update without placeholders to `output`, synced when it is an
/// [`Durability::Output`].
pub(crate) fn write_update<S: inkan_pdf::Source>(
    update: IncrementalUpdate<'_, S>,
    output: &Path,
    durability: Durability,
) -> Result<(), PadesError> {
    let prepared = update.prepare()?;
    let file = File::create(output).map_err(|e| PadesError::io(output, e))?;
    let mut out = BufWriter::new(file);
    prepared.write_to(&mut out)?;
    let file = out
        .into_inner()
        .map_err(|e| PadesError::io(output, e.into_error()))?;
    if durability == Durability::Output {
        file.sync_all().map_err(|e| PadesError::io(output, e))?;
    }
    Ok(())
}
