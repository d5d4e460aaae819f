//! The page tree (ISO 32000-2 §7.7.3): pages in order, with inherited attributes, refusing
//! cycles and absurd depth.

use std::collections::HashSet;

use crate::document::Document;
use crate::error::{PdfError, Result};
use crate::limits::MAX_PAGE_TREE_DEPTH;
use crate::object::{Dict, ObjRef, Object};
use crate::source::Source;

/// A rectangle `[llx lly urx ury]` in default user space units (1/72 inch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Lower-left x.
    pub llx: f64,
    /// Lower-left y.
    pub lly: f64,
    /// Upper-right x.
    pub urx: f64,
    /// Upper-right y.
    pub ury: f64,
}

impl Rect {
    /// The width (absolute).
    pub fn width(&self) -> f64 {
        (self.urx - self.llx).abs()
    }

    /// The height (absolute).
    pub fn height(&self) -> f64 {
        (self.ury - self.lly).abs()
    }
}

/// One page, with the attributes it inherits from its ancestors filled in.
#[derive(Debug, Clone)]
pub struct Page {
    /// Its position, counted from 0.
    pub index: usize,
    /// The page object's reference (what a widget annotation's `/P` names).
    pub reference: ObjRef,
    /// The page dictionary as stored (without inherited entries).
    pub dict: Dict,
    /// `/MediaBox`, own or inherited (`None` when missing or malformed: readers assume Letter).
    pub media_box: Option<Rect>,
    /// `/CropBox`, own or inherited.
    pub crop_box: Option<Rect>,
    /// `/Rotate`, own or inherited, normalised to 0, 90, 180 or 270.
    pub rotate: u16,
    /// `/Resources`, own or inherited, as stored (often a reference).
    pub resources: Option<Object>,
}

#[derive(Clone, Default)]
struct Inherited {
    media_box: Option<Object>,
    crop_box: Option<Object>,
    rotate: Option<Object>,
    resources: Option<Object>,
}

impl Inherited {
    fn with(&self, node: &Dict) -> Inherited {
        let pick = |key: &str, parent: &Option<Object>| node.get(key).cloned().or(parent.clone());
        Inherited {
            media_box: pick("MediaBox", &self.media_box),
            crop_box: pick("CropBox", &self.crop_box),
            rotate: pick("Rotate", &self.rotate),
            resources: pick("Resources", &self.resources),
        }
    }
}

struct Frame {
    kids: Vec<Object>,
    next: usize,
    inherited: Inherited,
}

/// Iterates the pages of a document in order. Yields an error (and then stops) on a broken
/// tree: a cycle, a tree deeper than [`MAX_PAGE_TREE_DEPTH`], a kid that is not a dictionary.
pub struct Pages<'d, S: Source> {
    doc: &'d Document<S>,
    stack: Vec<Frame>,
    visited: HashSet<ObjRef>,
    index: usize,
    start: Option<ObjRef>,
    failed: bool,
}

impl<'d, S: Source> Pages<'d, S> {
    fn step(&mut self) -> Result<Option<Page>> {
        if let Some(root) = self.start.take() {
            if let Some(page) = self.visit(root, Inherited::default())? {
                return Ok(Some(page));
            }
        }
        loop {
            let Some(frame) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some(kid) = frame.kids.get(frame.next).cloned() else {
                self.stack.pop();
                continue;
            };
            frame.next += 1;
            let inherited = frame.inherited.clone();
            let r = match kid {
                Object::Reference(r) => r,
                // A null kid (a deleted page left behind) is skipped, as readers do.
                Object::Null => continue,
                other => {
                    return Err(PdfError::WrongType {
                        what: "a page tree /Kids entry".into(),
                        expected: "a reference",
                        found: other.type_name(),
                    })
                }
            };
            if let Some(page) = self.visit(r, inherited)? {
                return Ok(Some(page));
            }
        }
    }

    /// Loads node `r`: a page is returned; a page tree node is pushed for its kids.
    fn visit(&mut self, r: ObjRef, inherited: Inherited) -> Result<Option<Page>> {
        if !self.visited.insert(r) {
            return Err(PdfError::PageTreeCycle(r));
        }
        let node = self.doc.get_dict(r)?;
        let inherited = inherited.with(&node);
        // /Type is sometimes missing: a node with /Kids is an intermediate node.
        let is_tree =
            node.has_type("Pages") || (!node.has_type("Page") && node.contains_key("Kids"));
        if is_tree {
            if self.stack.len() >= MAX_PAGE_TREE_DEPTH {
                return Err(PdfError::Limit {
                    what: "the depth of the page tree",
                    limit: MAX_PAGE_TREE_DEPTH as u64,
                });
            }
            let kids = match node.get("Kids") {
                Some(k) => self.doc.resolve(k)?,
                None => Object::Array(Vec::new()),
            };
            let kids = kids
                .expect_array(format!("/Kids of page tree node {r}"))?
                .to_vec();
            self.stack.push(Frame {
                kids,
                next: 0,
                inherited,
            });
            return Ok(None);
        }
        let page = Page {
            index: self.index,
            reference: r,
            media_box: self.rect(&inherited.media_box)?,
            crop_box: self.rect(&inherited.crop_box)?,
            rotate: match &inherited.rotate {
                Some(v) => {
                    let deg = self.doc.resolve(v)?.as_int().unwrap_or(0);
                    // Only multiples of 90 are meaningful; others are read as the nearest below.
                    (deg.rem_euclid(360) / 90 * 90) as u16
                }
                None => 0,
            },
            resources: inherited.resources,
            dict: node,
        };
        self.index += 1;
        Ok(Some(page))
    }

    fn rect(&self, value: &Option<Object>) -> Result<Option<Rect>> {
        let Some(v) = value else { return Ok(None) };
        let v = self.doc.resolve(v)?;
        let Some(items) = v.as_array() else {
            return Ok(None);
        };
        let mut n = [0f64; 4];
        if items.len() != 4 {
            return Ok(None);
        }
        for (slot, item) in n.iter_mut().zip(items) {
            match self.doc.resolve(item)?.as_f64() {
                Some(x) => *slot = x,
                None => return Ok(None),
            }
        }
        Ok(Some(Rect {
            llx: n[0],
            lly: n[1],
            urx: n[2],
            ury: n[3],
        }))
    }
}

impl<S: Source> Iterator for Pages<'_, S> {
    type Item = Result<Page>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(p) => p.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl<S: Source> Document<S> {
    /// The pages in order. Every page object is read (so a 5,000-page document costs 5,000 small
    /// parses) but nothing else: content streams and images stay on disk.
    pub fn pages(&self) -> Result<Pages<'_, S>> {
        let catalog = self.catalog()?;
        let root = match catalog.get("Pages") {
            Some(Object::Reference(r)) => *r,
            Some(other) => {
                return Err(PdfError::WrongType {
                    what: "the catalog's /Pages".into(),
                    expected: "a reference",
                    found: other.type_name(),
                })
            }
            None => {
                return Err(PdfError::WrongType {
                    what: "the catalog's /Pages".into(),
                    expected: "a reference",
                    found: "missing",
                })
            }
        };
        Ok(Pages {
            doc: self,
            stack: Vec::new(),
            visited: HashSet::new(),
            index: 0,
            start: Some(root),
            failed: false,
        })
    }

    /// The number of pages, counted by walking the tree (a `/Count` can lie).
    pub fn page_count(&self) -> Result<usize> {
        let mut n = 0;
        for page in self.pages()? {
            page?;
            n += 1;
        }
        Ok(n)
    }

    /// Page `index` (from 0).
    pub fn page(&self, index: usize) -> Result<Page> {
        let mut count = 0;
        for page in self.pages()? {
            let page = page?;
            if page.index == index {
                return Ok(page);
            }
            count += 1;
        }
        Err(PdfError::NoSuchPage { index, count })
    }

    /// Page `index`'s object reference.
    pub fn page_ref(&self, index: usize) -> Result<ObjRef> {
        Ok(self.page(index)?.reference)
    }
}
