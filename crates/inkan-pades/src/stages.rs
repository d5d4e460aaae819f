//! Where the stages of a signature are made: each incremental update — the signature, the DSS,
//! the document timestamp, its DSS — is appended in memory to the document it was made for
//! ([`Appended`]), so the next stage reads the document with it without the original being
//! copied: a file stays a file, read where it lies (memory stays flat however large it is);
//! bytes in memory stay where they are. Writing each stage to a file and reading it back, as
//! before, was a third of an envelope's CPU time under load.
//!
//! The functions that take paths write their output once, at the end: to a temporary file
//! beside it, fsynced, then renamed into place, so a failure never leaves a half-signed output.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use inkan_pdf::{Appended, FileSource, IncrementalUpdate, PdfError, Source};

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

/// Writes `input` and the update `make` builds from it to `output`.
pub(crate) fn extend_file(
    input: &Path,
    output: &Path,
    make: impl FnOnce(&FileSource) -> Result<Vec<u8>, PadesError>,
) -> Result<(), PadesError> {
    let source = open_input(input)?;
    let tail = make(&source)?;
    let mut pdf = Appended::new(source);
    pdf.push(&tail);
    write_output(output, &pdf)
}

/// `input`, read where it lies.
pub(crate) fn open_input(input: &Path) -> Result<FileSource, PadesError> {
    let file = File::open(input).map_err(|e| PadesError::io(input, e))?;
    Ok(FileSource::new(file)?)
}

/// Writes `pdf` to `output` so that it survives a crash once this returns and is never seen
/// half-written: to a temporary file beside it, synced, renamed into place (atomic, as both sit
/// in the same directory), and the directory synced after.
pub(crate) fn write_output<S: Source>(output: &Path, pdf: &S) -> Result<(), PadesError> {
    let stage = stage_path(output);
    let written = write_synced(&stage, pdf)
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

fn write_synced<S: Source>(path: &Path, pdf: &S) -> Result<(), PadesError> {
    let file = File::create(path).map_err(|e| PadesError::io(path, e))?;
    let mut out = BufWriter::new(file);
    pdf.copy_range(0, pdf.len(), &mut |chunk| {
        out.write_all(chunk).map_err(PdfError::from)
    })?;
    let file = out
        .into_inner()
        .map_err(|e| PadesError::io(path, e.into_error()))?;
    file.sync_all().map_err(|e| PadesError::io(path, e))
}

fn stage_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".inkan-partial.tmp");
    output.with_file_name(name)
}
