//! TSA serial numbers: unique and increasing across restarts, without a write per token.
//!
//! A counter always holds the first number not yet handed out to any process; a process
//! reserves a block of numbers at a time, so a crash can only skip numbers, never repeat one.
//! The counter is a file in the PKI folder (under an exclusive file lock, fsynced: the
//! processes of one host), or any other [`SerialBlocks`] — the service keeps it in PostgreSQL,
//! so that nodes on several hosts, each with its own copy of the PKI folder, share it.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::PkiError;

const BLOCK: u128 = 256;

/// Where a TSA reserves its serial numbers, a block at a time.
pub trait SerialBlocks: Send + Sync {
    /// Moves the counter past a block of `size` numbers and returns the block's first number.
    /// Called from a blocking thread (the TSA answers off the async workers).
    fn reserve(&self, size: u128) -> Result<u128, PkiError>;
}

pub(crate) struct SerialAllocator {
    source: Arc<dyn SerialBlocks>,
    range: Mutex<(u128, u128)>,
}

impl SerialAllocator {
    /// Numbers from the counter file at `path`.
    pub(crate) fn new(path: &Path) -> Self {
        Self::from(Arc::new(CounterFile::new(path)))
    }

    /// Numbers from `source`.
    pub(crate) fn from(source: Arc<dyn SerialBlocks>) -> Self {
        Self {
            source,
            range: Mutex::new((0, 0)),
        }
    }

    pub(crate) fn next(&self) -> Result<u128, PkiError> {
        let mut range = self
            .range
            .lock()
            .map_err(|_| PkiError::Invalid("serial allocator poisoned".into()))?;
        if range.0 == range.1 {
            let start = self.source.reserve(BLOCK)?;
            let end = start
                .checked_add(BLOCK)
                .ok_or_else(|| PkiError::Invalid("TSA serial numbers exhausted".into()))?;
            *range = (start, end);
        }
        let serial = range.0;
        range.0 += 1;
        Ok(serial)
    }
}

/// The counter file of a PKI folder (`db/tsa-serial`).
pub struct CounterFile {
    path: PathBuf,
}

impl SerialBlocks for CounterFile {
    fn reserve(&self, size: u128) -> Result<u128, PkiError> {
        self.update(|start| {
            start
                .checked_add(size)
                .ok_or_else(|| PkiError::Invalid("TSA serial numbers exhausted".into()))
        })
        .map(|(start, _)| start)
    }
}

impl CounterFile {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// The first number the file has not handed out (1 for a new PKI), without moving it: a
    /// shared counter that takes over from the file starts above it.
    pub fn peek(&self) -> Result<u128, PkiError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => parse_counter(&self.path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(1),
            Err(e) => Err(PkiError::io(&self.path, e)),
        }
    }

    /// Moves the counter to at least `floor` (never down). After a restore from a backup, the
    /// counter on disk is the backup's, and the lost installation may have issued numbers above
    /// it since: the restore raises it past anything that could have been issued.
    pub(crate) fn raise_to(&self, floor: u128) -> Result<(), PkiError> {
        self.update(|start| Ok(start.max(floor))).map(|_| ())
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
        let start = parse_counter(&self.path, &text)?;
        let end = next(start)?;
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(format!("{end}\n").as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok((start, end))
    }
}

fn parse_counter(path: &Path, text: &str) -> Result<u128, PkiError> {
    match text.trim() {
        "" => Ok(1),
        t => t.parse().map_err(|_| {
            PkiError::Config(format!(
                "{} is corrupt (expected a number, found {t:?})",
                path.display()
            ))
        }),
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
        let file = CounterFile::new(&path);
        file.raise_to(1 << 40).unwrap();
        file.raise_to(5).unwrap();
        assert_eq!(file.peek().unwrap(), 1 << 40);
        let allocator = SerialAllocator::new(&path);
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
