//! Where the stages of a signature are made: in memory, each incremental update appended to the
//! same buffer. The original bytes are never copied from stage to stage, and nothing reaches a
//! disk before the end (a B-LTA signature is four updates; writing each stage to a file and
//! reading it back was a third of an envelope's CPU time under load).
//!
//! The functions that take paths read their input whole and write their output once: to a
//! temporary file beside it, fsynced, then renamed into place, so a failure never leaves a
//! half-signed output.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use inkan_pdf::{IncrementalUpdate, Source};

use crate::PadesError;

/// The bytes an update appends to the document it was made for.
pub(crate) fn appended<S: Source>(update: IncrementalUpdate<'_, S>) -> Result<Vec<u8>, PadesError> {
    Ok(update.prepare()?.into_appended())
}

/// `pdf` with the update `make` builds from it appended.
pub(crate) fn extended(
    mut pdf: Vec<u8>,
    make: impl FnOnce(&[u8]) -> Result<Vec<u8>, PadesError>,
) -> Result<Vec<u8>, PadesError> {
    let tail = make(&pdf)?;
    pdf.extend_from_slice(&tail);
    Ok(pdf)
}

/// Reads `input`, appends the update `make` builds from it, and writes the result to `output`.
pub(crate) fn extend_file(
    input: &Path,
    output: &Path,
    make: impl FnOnce(&[u8]) -> Result<Vec<u8>, PadesError>,
) -> Result<(), PadesError> {
    let pdf = extended(read_input(input)?, make)?;
    write_output(output, &pdf)
}

/// The whole of `input`.
pub(crate) fn read_input(input: &Path) -> Result<Vec<u8>, PadesError> {
    std::fs::read(input).map_err(|e| PadesError::io(input, e))
}

/// Writes `pdf` to `output` so that it survives a crash once this returns and is never seen
/// half-written: to a temporary file beside it, synced, renamed into place (atomic, as both sit
/// in the same directory), and the directory synced after.
pub(crate) fn write_output(output: &Path, pdf: &[u8]) -> Result<(), PadesError> {
    let stage = stage_path(output);
    let written = File::create(&stage)
        .and_then(|mut file| {
            file.write_all(pdf)?;
            file.sync_all()
        })
        .map_err(|e| PadesError::io(&stage, e))
        .and_then(|()| std::fs::rename(&stage, output).map_err(|e| PadesError::io(output, e)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&stage);
        return Err(e);
    }
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn stage_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".inkan-partial.tmp");
    output.with_file_name(name)
}
