//! TSA serial numbers: unique and increasing across restarts, without a disk write per token.
//!
//! The counter on disk always holds the first number not yet handed out to any process; a
//! process reserves a block of numbers at a time (under an exclusive file lock, fsynced), so a
//! crash can only skip numbers, never repeat one.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::PkiError;

const BLOCK: u128 = 256;

pub(crate) struct SerialAllocator {
    path: PathBuf,
    range: Mutex<(u128, u128)>,
}

impl SerialAllocator {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            range: Mutex::new((0, 0)),
        }
    }

    pub(crate) fn next(&self) -> Result<u128, PkiError> {
        let mut range = self
            .range
            .lock()
            .map_err(|_| PkiError::Invalid("serial allocator poisoned".into()))?;
        if range.0 == range.1 {
            let start = self.reserve_block()?;
            *range = (start, start + BLOCK);
        }
        let serial = range.0;
        range.0 += 1;
        Ok(serial)
    }

    /// Moves the counter to at least `floor` (never down). After a restore from a backup, the
    /// counter on disk is the backup's, and the lost installation may have issued numbers above
    /// it since: the restore raises it past anything that could have been issued.
    pub(crate) fn raise_to(&self, floor: u128) -> Result<(), PkiError> {
        self.update(|start| Ok(start.max(floor))).map(|_| ())
    }

    fn reserve_block(&self) -> Result<u128, PkiError> {
        self.update(|start| {
            start
                .checked_add(BLOCK)
                .ok_or_else(|| PkiError::Invalid("TSA serial numbers exhausted".into()))
        })
        .map(|(start, _)| start)
    }

    /// Under the file lock: reads the counter, writes `next(counter)`, syncs; returns both.
    fn update(
        &self,
        next: impl FnOnce(u128) -> Result<u128, PkiError>,
    ) -> Result<(u128, u128), PkiError> {
        let io = |e| PkiError::io(&self.path, e);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(io)?;
        // Several processes (a server and a CLI) may share the directory.
        file.lock().map_err(io)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io)?;
        let start: u128 = match text.trim() {
            "" => 1,
            t => t.parse().map_err(|_| {
                PkiError::Config(format!(
                    "{} is corrupt (expected a number, found {t:?})",
                    self.path.display()
                ))
            })?,
        };
        let end = next(start)?;
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(format!("{end}\n").as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok((start, end))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn serials_never_repeat_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tsa-serial");
        let mut seen = std::collections::HashSet::new();
        for _restart in 0..3 {
            let allocator = SerialAllocator::new(&path);
            for _ in 0..300 {
                assert!(seen.insert(allocator.next().unwrap()));
            }
        }
        // After a restore the counter moves past anything issued since the backup, never down.
        let allocator = SerialAllocator::new(&path);
        allocator.raise_to(1 << 40).unwrap();
        allocator.raise_to(5).unwrap();
        assert_eq!(allocator.next().unwrap(), 1 << 40);
        // Two allocators at once (two processes) never collide either.
        let a = SerialAllocator::new(&path);
        let b = SerialAllocator::new(&path);
        for _ in 0..300 {
            assert!(seen.insert(a.next().unwrap()));
            assert!(seen.insert(b.next().unwrap()));
        }
    }
}
