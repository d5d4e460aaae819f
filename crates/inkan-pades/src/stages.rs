//! Where the stages of a signature are written: a temporary file beside the output per stage,
//! each fsynced, the last renamed into place. A failure never leaves a half-signed output.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use inkan_pdf::IncrementalUpdate;

use crate::PadesError;

/// Renames the finished (already fsynced) stage file to `output` — atomic, as both sit in the
/// same directory — and syncs the directory so the rename itself survives a crash.
pub(crate) fn move_into_place(stage: &Path, output: &Path) -> Result<(), PadesError> {
    std::fs::rename(stage, output).map_err(|e| PadesError::io(output, e))?;
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

/// Writes the original and an update without placeholders to `output`, durably.
pub(crate) fn write_update<S: inkan_pdf::Source>(
    update: IncrementalUpdate<'_, S>,
    output: &Path,
) -> Result<(), PadesError> {
    let prepared = update.prepare()?;
    let file = File::create(output).map_err(|e| PadesError::io(output, e))?;
    let mut out = BufWriter::new(file);
    prepared.write_to(&mut out)?;
    let file = out
        .into_inner()
        .map_err(|e| PadesError::io(output, e.into_error()))?;
    file.sync_all().map_err(|e| PadesError::io(output, e))
}
