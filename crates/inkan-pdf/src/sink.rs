//! [`ObjectSink`]: where new objects go, so that code building fonts, images and form XObjects
//! works the same for an [`crate::IncrementalUpdate`] of an existing file and for a
//! [`crate::NewDocument`] written from scratch.

use crate::error::Result;
use crate::object::{Dict, ObjRef, Object};
use crate::source::Source;
use crate::writer::{Compression, IncrementalUpdate};

/// Something that numbers and keeps new indirect objects until they are written.
pub trait ObjectSink {
    /// Allocates a new object number (generation 0) to be given a value with
    /// [`ObjectSink::set`] — for objects that must refer to each other.
    fn reserve(&mut self) -> ObjRef;

    /// Adds a new object; returns its reference.
    fn add(&mut self, obj: impl Into<Object>) -> ObjRef;

    /// Adds a new stream holding `data` (compressed if asked; `dict` then must not name a
    /// filter already). `/Length` is set by the writer.
    fn add_stream(&mut self, dict: Dict, data: &[u8], compression: Compression) -> Result<ObjRef>;

    /// Gives a value to a reserved object (or, for an update, replaces an existing one).
    fn set(&mut self, r: ObjRef, obj: impl Into<Object>) -> Result<()>;
}

// Inherent methods take precedence in method calls, so these forward to them, not to themselves.
impl<S: Source> ObjectSink for IncrementalUpdate<'_, S> {
    fn reserve(&mut self) -> ObjRef {
        IncrementalUpdate::reserve(self)
    }

    fn add(&mut self, obj: impl Into<Object>) -> ObjRef {
        IncrementalUpdate::add(self, obj)
    }

    fn add_stream(&mut self, dict: Dict, data: &[u8], compression: Compression) -> Result<ObjRef> {
        IncrementalUpdate::add_stream(self, dict, data, compression)
    }

    fn set(&mut self, r: ObjRef, obj: impl Into<Object>) -> Result<()> {
        IncrementalUpdate::set(self, r, obj)
    }
}
