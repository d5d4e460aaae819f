//! Random access to the bytes of a PDF, so that only the parts needed are ever read.
//!
//! A signed PDF can be a 50 MB scan; the reader touches the trailer, the cross-reference data and
//! the few objects it is asked for, through positional reads, and never holds the whole file.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::error::Result;

/// Bytes that can be read at any offset without moving a shared position (so a `&Source` can be
/// used from several places at once).
pub trait Source {
    /// The total number of bytes.
    fn len(&self) -> u64;

    /// Reads up to `buf.len()` bytes starting at `offset`; returns how many were read (0 at or
    /// past the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// True when there are no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All the bytes, when they are in memory already: copying and hashing a range then read
    /// them where they are instead of through a buffer.
    fn as_bytes(&self) -> Option<&[u8]> {
        None
    }

    /// Hands the bytes `start..end` to `sink`, in pieces (where they lie when in memory, else
    /// through a buffer); fails if the source ends first.
    fn copy_range(
        &self,
        start: u64,
        end: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        copy_chunks(self, start, end, sink)
    }

    /// Fills `buf` from `offset`, failing if the source ends first.
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(offset, buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the source ended at byte {offset} (was it truncated while open?)"),
                    ))
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Source for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(rest) = self.get(start..) else {
            return Ok(0);
        };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl<T: Source + ?Sized> Source for &T {
    fn len(&self) -> u64 {
        (**self).len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        (**self).as_bytes()
    }

    fn copy_range(
        &self,
        start: u64,
        end: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        (**self).copy_range(start, end, sink)
    }
}

impl<T: Source + ?Sized> Source for Arc<T> {
    fn len(&self) -> u64 {
        (**self).len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        (**self).as_bytes()
    }

    fn copy_range(
        &self,
        start: u64,
        end: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        (**self).copy_range(start, end, sink)
    }
}

/// A file read with positional reads (`pread`). Its length is taken once, at opening: the file
/// must not change while it is being read.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    /// Opens `path` for reading.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(File::open(path)?)
    }

    /// Wraps an open file.
    pub fn new(file: File) -> Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let room = usize::try_from(self.len - offset).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        std::os::unix::fs::FileExt::read_at(&self.file, &mut buf[..n], offset)
    }
}

/// The first bytes of another source: a file as it was at the end of an earlier revision (what an
/// earlier signature signed), without copying it.
#[derive(Debug, Clone)]
pub struct Prefix<S> {
    inner: S,
    len: u64,
}

impl<S: Source> Prefix<S> {
    /// The first `len` bytes of `inner` (all of it if shorter).
    pub fn new(inner: S, len: u64) -> Self {
        let len = len.min(inner.len());
        Prefix { inner, len }
    }
}

impl<S: Source> Source for Prefix<S> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let room = usize::try_from(self.len - offset).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        self.inner.read_at(offset, &mut buf[..n])
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        // len <= inner.len(), which is the slice's length.
        let len = usize::try_from(self.len).ok()?;
        self.inner.as_bytes().and_then(|b| b.get(..len))
    }
}

/// A document and the incremental updates appended to it since, kept in memory: each stage of
/// a signature reads what the ones before it appended without the original being copied (a
/// file stays a file, read where it lies; bytes in memory stay where they are).
#[derive(Debug, Clone)]
pub struct Appended<S> {
    base: S,
    tail: Vec<u8>,
}

impl<S: Source> Appended<S> {
    /// `base` with nothing appended yet.
    pub fn new(base: S) -> Self {
        Appended {
            base,
            tail: Vec::new(),
        }
    }

    /// Appends `bytes` (an update made for the document as it is now).
    pub fn push(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
    }

    /// The document as it was given, and everything appended since.
    pub fn into_parts(self) -> (S, Vec<u8>) {
        (self.base, self.tail)
    }
}

impl Appended<Vec<u8>> {
    /// The whole document, in one buffer (the base's, grown once).
    pub fn into_vec(self) -> Vec<u8> {
        let (mut base, tail) = self.into_parts();
        base.reserve_exact(tail.len());
        base.extend_from_slice(&tail);
        base
    }
}

impl Appended<&[u8]> {
    /// The whole document, in one buffer of its size: the borrowed base is copied once, where
    /// an owned one would have been copied to be owned and copied again to grow.
    pub fn into_vec(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.base.len() + self.tail.len());
        out.extend_from_slice(self.base);
        out.extend_from_slice(&self.tail);
        out
    }
}

impl<S: Source> Source for Appended<S> {
    fn len(&self) -> u64 {
        self.base.len() + self.tail.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let base = self.base.len();
        if offset < base {
            let room = usize::try_from(base - offset).unwrap_or(usize::MAX);
            let n = buf.len().min(room);
            return self.base.read_at(offset, &mut buf[..n]);
        }
        self.tail.as_slice().read_at(offset - base, buf)
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        // Contiguous only while nothing is appended.
        if self.tail.is_empty() {
            self.base.as_bytes()
        } else {
            None
        }
    }

    fn copy_range(
        &self,
        start: u64,
        end: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let base = self.base.len();
        if start < base {
            self.base.copy_range(start, end.min(base), sink)?;
        }
        if end > base {
            self.tail
                .as_slice()
                .copy_range(start.max(base) - base, end - base, sink)?;
        }
        Ok(())
    }
}

/// How much a [`Cursor`] reads at a time: big enough for most objects in one read, small enough
/// that reading one object of a huge file costs nothing.
const WINDOW: usize = 4096;

/// A read position over a [`Source`] with a small window of buffered bytes; the lexer and the
/// parsers work through it, one byte at a time, with cheap seeks back for lookahead.
pub(crate) struct Cursor<'a> {
    src: &'a dyn Source,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor at `pos`.
    pub(crate) fn new(src: &'a dyn Source, pos: u64) -> Self {
        Cursor {
            src,
            len: src.len(),
            pos,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// The current offset.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// The length of the underlying source.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Moves to `pos` (which may be past the end: reads then return `None`).
    pub(crate) fn seek(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// The byte at the current position, without moving.
    pub(crate) fn peek(&mut self) -> Result<Option<u8>> {
        if self.pos >= self.len {
            return Ok(None);
        }
        let in_window =
            self.pos >= self.buf_start && self.pos - self.buf_start < self.buf.len() as u64;
        if !in_window {
            let want = usize::try_from(self.len - self.pos)
                .unwrap_or(WINDOW)
                .min(WINDOW);
            self.buf.resize(want, 0);
            self.src.read_exact_at(self.pos, &mut self.buf)?;
            self.buf_start = self.pos;
        }
        // In range by the check or the refill above.
        Ok(self
            .buf
            .get(usize::try_from(self.pos - self.buf_start).unwrap_or(usize::MAX))
            .copied())
    }

    /// The byte at the current position; moves past it.
    pub(crate) fn next(&mut self) -> Result<Option<u8>> {
        let b = self.peek()?;
        if b.is_some() {
            self.pos += 1;
        }
        Ok(b)
    }

    /// Moves one byte forward.
    pub(crate) fn bump(&mut self) {
        self.pos += 1;
    }

    /// The buffered bytes from the current position on (refilled when the position is outside
    /// the window; empty at the end of the source), without moving: for a scan that goes
    /// through many bytes at once, then moves with [`Cursor::advance`].
    pub(crate) fn window(&mut self) -> Result<&[u8]> {
        if self.peek()?.is_none() {
            return Ok(&[]);
        }
        // In the window by `peek`.
        let at = usize::try_from(self.pos - self.buf_start).unwrap_or(usize::MAX);
        Ok(self.buf.get(at..).unwrap_or_default())
    }

    /// Moves `n` bytes forward.
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n as u64);
    }

    /// True when the bytes at the current position are `literal` (does not move).
    pub(crate) fn starts_with(&mut self, literal: &[u8]) -> Result<bool> {
        let start = self.pos;
        let mut matched = true;
        for &expected in literal {
            if self.next()? != Some(expected) {
                matched = false;
                break;
            }
        }
        self.pos = start;
        Ok(matched)
    }

    /// Finds the next occurrence of `needle` at or after the current position, scanning at
    /// most `max_scan` bytes; returns its offset and leaves the cursor unmoved.
    pub(crate) fn find(&mut self, needle: &[u8], max_scan: u64) -> Result<Option<u64>> {
        find_in(
            self.src,
            needle,
            self.pos,
            self.pos.saturating_add(max_scan),
        )
    }
}

/// Finds the first occurrence of `needle` starting in `start..end` (it may extend past `end`),
/// reading in chunks.
pub(crate) fn find_in(
    src: &dyn Source,
    needle: &[u8],
    start: u64,
    end: u64,
) -> Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    if needle.is_empty() {
        return Ok(Some(start));
    }
    let len = src.len();
    let overlap = needle.len() as u64 - 1;
    let mut buf = Vec::new();
    let mut at = start;
    while at < end.min(len) {
        let n = (end.min(len) - at)
            .min(CHUNK)
            .saturating_add(overlap)
            .min(len - at);
        // n <= CHUNK + needle length, which fits any usize.
        buf.resize(n as usize, 0);
        src.read_exact_at(at, &mut buf)?;
        if let Some(i) = buf.windows(needle.len()).position(|w| w == needle) {
            let found = at + i as u64;
            return Ok((found < end).then_some(found));
        }
        at += CHUNK;
    }
    Ok(None)
}

/// Copies `range` of `src` to `sink` in bounded chunks (so a 50 MB file never sits in memory).
pub(crate) fn copy_range(
    src: &dyn Source,
    start: u64,
    end: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    src.copy_range(start, end, sink)
}

/// [`Source::copy_range`] as every source does it unless it knows better.
fn copy_chunks<S: Source + ?Sized>(
    src: &S,
    start: u64,
    end: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    const CHUNK: u64 = 64 * 1024;
    if let Some(bytes) = src.as_bytes() {
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(start, end)| bytes.get(start..end));
        return match range {
            Some(range) => sink(range),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("bytes {start}..{end} are past the end ({})", bytes.len()),
            )
            .into()),
        };
    }
    let mut buf = Vec::new();
    let mut at = start;
    while at < end {
        let n = (end - at).min(CHUNK);
        // n <= CHUNK, which fits any usize.
        buf.resize(n as usize, 0);
        src.read_exact_at(at, &mut buf)?;
        sink(&buf)?;
        at += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_bytes_read_and_copy_as_one_document() {
        let base: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let mut doc = Appended::new(base.clone());
        assert_eq!(doc.as_bytes(), Some(base.as_slice()));
        doc.push(b"update one ");
        doc.push(b"and two");
        let mut whole = base.clone();
        whole.extend_from_slice(b"update one and two");
        assert_eq!(doc.len(), whole.len() as u64);
        assert_eq!(doc.as_bytes(), None);
        // Reads that end in the base, cross into the tail, and start in it.
        for (at, n) in [(990u64, 10usize), (995, 12), (1003, 15)] {
            let mut buf = vec![0; n];
            doc.read_exact_at(at, &mut buf)
                .expect("inside the document");
            assert_eq!(buf, whole[at as usize..at as usize + n]);
        }
        for (start, end) in [(0u64, 1018u64), (500, 1000), (999, 1001), (1005, 1018)] {
            let mut copied = Vec::new();
            doc.copy_range(start, end, &mut |chunk| {
                copied.extend_from_slice(chunk);
                Ok(())
            })
            .expect("inside the document");
            assert_eq!(copied, whole[start as usize..end as usize]);
        }
        assert!(
            doc.copy_range(0, 1019, &mut |_| Ok(())).is_err(),
            "past the end"
        );
        assert_eq!(doc.into_vec(), whole);
        // Over a borrowed base: the same document, in a buffer of its size.
        let mut borrowed = Appended::new(base.as_slice());
        borrowed.push(b"update one and two");
        let copied = borrowed.into_vec();
        assert_eq!(
            (copied.len(), copied.capacity()),
            (whole.len(), whole.len())
        );
        assert_eq!(copied, whole);
    }

    #[test]
    fn cursor_reads_across_windows() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut c = Cursor::new(&data, 4090);
        for i in 4090..4200u32 {
            assert_eq!(c.next().ok().flatten(), Some((i % 251) as u8));
        }
        c.seek(10);
        assert_eq!(c.peek().ok().flatten(), Some(10));
        c.seek(10_000);
        assert_eq!(c.peek().ok().flatten(), None);
    }

    #[test]
    fn prefix_hides_the_rest() {
        let data = b"0123456789".to_vec();
        let p = Prefix::new(&data, 4);
        let mut buf = [0u8; 8];
        assert_eq!(p.read_at(2, &mut buf).ok(), Some(2));
        assert_eq!(&buf[..2], b"23");
        assert_eq!(p.read_at(4, &mut buf).ok(), Some(0));
        assert_eq!(Prefix::new(&data, 99).len(), 10);
    }

    #[test]
    fn find_scans_forward() {
        let data = b"abc endstream xyz".to_vec();
        let mut c = Cursor::new(&data, 0);
        assert_eq!(c.find(b"endstream", 100).ok().flatten(), Some(4));
        assert_eq!(c.pos(), 0);
        assert_eq!(c.find(b"nothing", 100).ok().flatten(), None);
    }
}
