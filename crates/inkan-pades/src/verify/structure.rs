//! The roles objects play in one revision of a document — catalog, DSS, form fields and their
//! widgets, signature values, appearance streams, pages, annotations, page content — so that
//! the modification analysis can tell what an incremental update touched.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use inkan_pdf::{Dict, Document, ObjRef, Object, Source};

/// Objects any one walk may visit: bounds the time a hostile file can cost.
const WALK_BUDGET: usize = 200_000;
const MAX_DEPTH: usize = 64;

/// A form field or widget.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldRole {
    pub name: String,
    /// A signature field (`/FT /Sig`, possibly inherited).
    pub signature: bool,
    /// Its value is a document timestamp.
    pub doc_timestamp: bool,
}

/// The roles of the objects of one revision.
pub(crate) struct Structure<'d, S: Source> {
    doc: &'d Document<S>,
    pub root: Option<ObjRef>,
    pub info: Option<ObjRef>,
    /// The catalog's XMP metadata stream (ISO 32000-2 §14.3.2), when it is a stream of
    /// `/Type /Metadata`.
    pub metadata: Option<ObjRef>,
    pub dss: HashSet<ObjRef>,
    pub acroform: Option<ObjRef>,
    pub fields_array: Option<ObjRef>,
    /// Field dictionaries (terminal or not) and widgets merged with their field.
    pub fields: HashMap<ObjRef, FieldRole>,
    /// Widget annotations.
    pub widgets: HashMap<ObjRef, FieldRole>,
    /// Signature dictionaries (the `/V` of signature fields) → their field (whose role says
    /// whether it is a document timestamp).
    pub signature_values: HashMap<ObjRef, FieldRole>,
    /// Reached from widgets' appearances and the form's default resources.
    pub appearance: HashSet<ObjRef>,
    /// Page objects → page number (1-based).
    pub pages: HashMap<ObjRef, usize>,
    /// Intermediate page-tree nodes.
    pub page_nodes: HashSet<ObjRef>,
    /// Indirect `/Annots` arrays.
    pub annots_arrays: HashSet<ObjRef>,
    /// Non-widget annotations and their appearances and pop-ups.
    pub annotations: HashSet<ObjRef>,
    /// Page content streams and everything their resources reach.
    pub content: HashSet<ObjRef>,
    /// The tagged-PDF structure tree (ISO 32000-2 §14.7): the `/StructTreeRoot`, its elements,
    /// role and class maps and parent tree — what assistive technology reads, never what a page
    /// shows.
    pub structure_tree: HashSet<ObjRef>,
    /// Pages' transparency group dictionaries (`/Group`) and what they reach.
    pub page_groups: HashSet<ObjRef>,
    reachable: OnceCell<HashSet<ObjRef>>,
}

impl<'d, S: Source> Structure<'d, S> {
    /// Maps `doc`'s objects to their roles. Unreadable parts are skipped: whatever is not
    /// recognised ends up classified as "other changes", the safe side.
    pub(crate) fn build(doc: &'d Document<S>) -> Self {
        let root = doc.trailer().get_ref("Root");
        let catalog = doc.catalog().unwrap_or_default();
        let mut s = Structure {
            doc,
            root,
            info: doc.info_ref(),
            metadata: catalog.get_ref("Metadata").filter(|r| {
                matches!(doc.get(*r), Ok(Object::Stream(stream))
                    if stream.dict.get_name("Type") == Some(b"Metadata"))
            }),
            dss: HashSet::new(),
            acroform: catalog.get_ref("AcroForm"),
            fields_array: None,
            fields: HashMap::new(),
            widgets: HashMap::new(),
            signature_values: HashMap::new(),
            appearance: HashSet::new(),
            pages: HashMap::new(),
            page_nodes: HashSet::new(),
            annots_arrays: HashSet::new(),
            annotations: HashSet::new(),
            content: HashSet::new(),
            structure_tree: HashSet::new(),
            page_groups: HashSet::new(),
            reachable: OnceCell::new(),
        };
        if let Some(dss) = catalog.get("DSS") {
            walk(doc, dss, &mut s.dss, &[]);
        }
        s.map_form(&catalog);
        s.map_pages(&catalog);
        if let Some(tree) = catalog.get("StructTreeRoot") {
            // Not into pages (/Pg), parents (/P), the annotations and XObjects elements point
            // at (/Obj, /Stm, /StmOwn): those have roles of their own.
            walk(
                doc,
                tree,
                &mut s.structure_tree,
                &["P", "Pg", "Obj", "Stm", "StmOwn"],
            );
            // An element shared with a page or form keeps the stricter role.
            let shown: Vec<ObjRef> = s
                .structure_tree
                .iter()
                .filter(|r| {
                    s.content.contains(r) || s.page_nodes.contains(r) || s.pages.contains_key(r)
                })
                .copied()
                .collect();
            for r in shown {
                s.structure_tree.remove(&r);
            }
        }
        s
    }

    pub(crate) fn doc(&self) -> &'d Document<S> {
        self.doc
    }

    /// The object, or `None` when it does not exist (or is null) in this revision.
    pub(crate) fn get(&self, r: ObjRef) -> Option<Object> {
        match self.doc.get(r) {
            Ok(Object::Null) | Err(_) => None,
            Ok(obj) => Some(obj),
        }
    }

    /// Whether `r` can be reached from the trailer (computed once, on first use).
    pub(crate) fn is_reachable(&self, r: ObjRef) -> bool {
        let set = self.reachable.get_or_init(|| {
            let mut set = HashSet::new();
            let starts: Vec<Object> = ["Root", "Info"]
                .iter()
                .filter_map(|k| self.doc.trailer().get(k).cloned())
                .collect();
            walk(self.doc, &Object::Array(starts), &mut set, &[]);
            set
        });
        // A walk that ran out of budget proves nothing: count the object as used.
        set.len() >= WALK_BUDGET || set.contains(&r)
    }

    fn map_form(&mut self, catalog: &Dict) {
        let doc = self.doc;
        let Some(Ok(Object::Dict(acroform))) = catalog.get("AcroForm").map(|a| doc.resolve(a))
        else {
            return;
        };
        if let Some(dr) = acroform.get("DR") {
            walk(doc, dr, &mut self.appearance, &["P", "Parent"]);
        }
        let Some(fields) = acroform.get("Fields") else {
            return;
        };
        self.fields_array = fields.as_ref();
        let roots = doc
            .resolve(fields)
            .ok()
            .and_then(|f| f.as_array().map(<[Object]>::to_vec))
            .unwrap_or_default();
        // (node, parent's name, parent is a signature field, parent holds a document timestamp,
        // depth)
        let mut stack: Vec<(Object, String, bool, bool, usize)> = roots
            .into_iter()
            .map(|f| (f, String::new(), false, false, 0))
            .collect();
        let mut visited = HashSet::new();
        while let Some((node, parent, inherited_sig, inherited_ts, depth)) = stack.pop() {
            let Some(r) = node.as_ref() else { continue };
            if depth > MAX_DEPTH || !visited.insert(r) || visited.len() > WALK_BUDGET {
                continue;
            }
            let Ok(Object::Dict(dict)) = doc.get(r) else {
                continue;
            };
            let name = match dict.get("T").and_then(Object::as_string) {
                Some(t) if parent.is_empty() => t.to_text(),
                Some(t) => format!("{parent}.{}", t.to_text()),
                None => parent.clone(),
            };
            let signature = match dict.get_name("FT") {
                Some(ft) => ft == b"Sig",
                None => inherited_sig,
            };
            // A kid without /T is a widget of its parent field and shares its role.
            let mut role = FieldRole {
                name: name.clone(),
                signature,
                doc_timestamp: inherited_ts && !dict.contains_key("T"),
            };
            if let Some(v) = dict.get("V").filter(|_| signature) {
                if let Ok(Object::Dict(sig)) = doc.resolve(v) {
                    role.doc_timestamp = sig.get_name("Type") == Some(b"DocTimeStamp".as_slice())
                        || sig.get_name("SubFilter") == Some(b"ETSI.RFC3161".as_slice());
                    if let Some(sig_ref) = v.as_ref() {
                        self.signature_values.insert(sig_ref, role.clone());
                    }
                }
            }
            let is_widget = dict.get_name("Subtype") == Some(b"Widget".as_slice());
            if dict.contains_key("T") || !is_widget {
                self.fields.insert(r, role.clone());
            }
            if is_widget {
                self.add_widget(r, &dict, role.clone());
            }
            let kids = dict
                .get("Kids")
                .and_then(|k| doc.resolve(k).ok())
                .and_then(|k| k.as_array().map(<[Object]>::to_vec))
                .unwrap_or_default();
            for kid in kids {
                stack.push((kid, name.clone(), signature, role.doc_timestamp, depth + 1));
            }
        }
    }

    fn add_widget(&mut self, r: ObjRef, dict: &Dict, role: FieldRole) {
        for key in ["AP", "MK"] {
            if let Some(ap) = dict.get(key) {
                walk(self.doc, ap, &mut self.appearance, &["P", "Parent"]);
            }
        }
        self.widgets.insert(r, role);
    }

    fn map_pages(&mut self, catalog: &Dict) {
        let doc = self.doc;
        let Some(start) = catalog.get_ref("Pages") else {
            return;
        };
        let mut stack = vec![(start, 0usize)];
        let mut visited = HashSet::new();
        let mut order = Vec::new();
        while let Some((r, depth)) = stack.pop() {
            if depth > MAX_DEPTH || !visited.insert(r) || visited.len() > WALK_BUDGET {
                continue;
            }
            let Ok(Object::Dict(node)) = doc.get(r) else {
                continue;
            };
            if let Some(resources) = node.get("Resources") {
                walk(doc, resources, &mut self.content, &["P", "Parent"]);
            }
            let kids = node
                .get("Kids")
                .and_then(|k| doc.resolve(k).ok())
                .and_then(|k| k.as_array().map(<[Object]>::to_vec));
            match kids {
                Some(kids) if node.get_name("Type") != Some(b"Page".as_slice()) => {
                    self.page_nodes.insert(r);
                    if let Some(k) = node.get("Kids").and_then(Object::as_ref) {
                        self.page_nodes.insert(k);
                    }
                    for kid in kids.iter().rev().filter_map(Object::as_ref) {
                        stack.push((kid, depth + 1));
                    }
                }
                _ => {
                    order.push(r);
                    self.map_page(&node);
                }
            }
        }
        for (i, r) in order.into_iter().enumerate() {
            self.pages.insert(r, i + 1);
        }
    }

    fn map_page(&mut self, page: &Dict) {
        let doc = self.doc;
        if let Some(group) = page.get("Group") {
            walk(doc, group, &mut self.page_groups, &["P", "Parent"]);
        }
        if let Some(contents) = page.get("Contents") {
            walk(doc, contents, &mut self.content, &["P", "Parent"]);
        }
        let Some(annots) = page.get("Annots") else {
            return;
        };
        if let Some(r) = annots.as_ref() {
            self.annots_arrays.insert(r);
        }
        let items = doc
            .resolve(annots)
            .ok()
            .and_then(|a| a.as_array().map(<[Object]>::to_vec))
            .unwrap_or_default();
        for item in items {
            let Some(r) = item.as_ref() else { continue };
            let Ok(Object::Dict(annot)) = doc.get(r) else {
                continue;
            };
            if annot.get_name("Subtype") == Some(b"Widget".as_slice()) {
                if !self.widgets.contains_key(&r) {
                    // A widget on a page but not in the form: still a widget.
                    self.add_widget(r, &annot, FieldRole::default());
                }
                continue;
            }
            self.annotations.insert(r);
            for key in ["AP", "Popup"] {
                if let Some(v) = annot.get(key) {
                    walk(doc, v, &mut self.annotations, &["P", "Parent"]);
                }
            }
        }
    }
}

/// Adds every object reachable from `start` to `out`, not following the dictionary keys in
/// `skip` (back-links to pages and parents, which would drag in the whole document).
pub(crate) fn walk<S: Source>(
    doc: &Document<S>,
    start: &Object,
    out: &mut HashSet<ObjRef>,
    skip: &[&str],
) {
    let mut stack = vec![start.clone()];
    let mut budget = WALK_BUDGET;
    while let Some(obj) = stack.pop() {
        match obj {
            Object::Reference(r) => {
                if budget == 0 || !out.insert(r) {
                    continue;
                }
                budget -= 1;
                if let Ok(o) = doc.get(r) {
                    stack.push(o);
                }
            }
            Object::Array(items) => stack.extend(items),
            Object::Dict(d) => push_dict(&d, &mut stack, skip),
            Object::Stream(s) => push_dict(&s.dict, &mut stack, skip),
            _ => {}
        }
    }
}

fn push_dict(d: &Dict, stack: &mut Vec<Object>, skip: &[&str]) {
    for (k, v) in d.iter() {
        if !skip.iter().any(|s| k.as_bytes() == s.as_bytes()) {
            stack.push(v.clone());
        }
    }
}
