//! Field locks: a signature field's `/Lock` dictionary (ISO 32000-2 §12.7.5.5) names the form
//! fields that become read-only once the field is signed, and the signature records them as a
//! FieldMDP transform (§12.8.2.4). Signing honours every lock in force (a locked field is
//! neither filled nor signed), and the verifier reports a later change to a locked field as a
//! change the signature does not allow — as Acrobat, pyHanko and the EU's reference validator do.

use inkan_pdf::{Dict, Document, Object, PdfString, Source};

use crate::PadesError;

/// Which fields a lock covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockAction {
    /// Every field of the document.
    All,
    /// The fields named (and their descendants).
    Include,
    /// Every field but those named (and their descendants).
    Exclude,
}

/// A set of locked fields, as `/Lock` and FieldMDP's `/TransformParams` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLock {
    pub action: LockAction,
    /// Fully qualified field names (`parent.child`).
    pub fields: Vec<String>,
}

impl FieldLock {
    /// Reads `/Action` and `/Fields` of a `/Lock` or FieldMDP `/TransformParams` dictionary;
    /// `None` when `/Action` is missing or unknown (such a lock cannot be honoured and is
    /// reported by the verifier as unreadable, never silently widened).
    pub fn from_dict<S: Source>(doc: &Document<S>, dict: &Dict) -> Option<FieldLock> {
        let action = match dict.get_name("Action")? {
            b"All" => LockAction::All,
            b"Include" => LockAction::Include,
            b"Exclude" => LockAction::Exclude,
            _ => return None,
        };
        let fields = dict
            .get("Fields")
            .and_then(|f| doc.resolve(f).ok())
            .and_then(|f| f.as_array().map(<[Object]>::to_vec))
            .unwrap_or_default()
            .iter()
            .filter_map(|f| doc.resolve(f).ok())
            .filter_map(|f| f.as_string().map(PdfString::to_text))
            .collect();
        Some(FieldLock { action, fields })
    }

    /// Whether the field named `name` (fully qualified) is locked.
    pub fn covers(&self, name: &str) -> bool {
        let named = self.fields.iter().any(|f| {
            name == f
                || name
                    .strip_prefix(f.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        });
        match self.action {
            LockAction::All => true,
            LockAction::Include => named,
            LockAction::Exclude => !named,
        }
    }

    /// The entries `/Action` and `/Fields` (added to a `/Lock` or `/TransformParams`).
    pub(crate) fn write_into(&self, dict: &mut Dict) {
        let action = match self.action {
            LockAction::All => "All",
            LockAction::Include => "Include",
            LockAction::Exclude => "Exclude",
        };
        dict.insert("Action", Object::name(action));
        if self.action != LockAction::All {
            dict.insert(
                "Fields",
                self.fields
                    .iter()
                    .map(|f| Object::from(PdfString::from_text(f)))
                    .collect::<Vec<_>>(),
            );
        }
    }

    /// A `/Lock` dictionary for a signature field.
    pub(crate) fn lock_dict(&self) -> Dict {
        let mut dict = Dict::new();
        dict.insert("Type", Object::name("SigFieldLock"));
        self.write_into(&mut dict);
        dict
    }

    /// A FieldMDP signature reference dictionary for the signature that puts this lock in force.
    pub(crate) fn field_mdp_reference(&self) -> Dict {
        let mut params = Dict::new();
        params.insert("Type", Object::name("TransformParams"));
        self.write_into(&mut params);
        params.insert("V", Object::name("1.2"));
        let mut reference = Dict::new();
        reference.insert("Type", Object::name("SigRef"));
        reference.insert("TransformMethod", Object::name("FieldMDP"));
        reference.insert("TransformParams", params);
        reference
    }
}

/// The FieldMDP locks a signature dictionary records (its `/Reference` entries).
pub(crate) fn field_mdp_of<S: Source>(doc: &Document<S>, sig: &Dict) -> Vec<FieldLock> {
    let references = sig
        .get("Reference")
        .and_then(|r| doc.resolve(r).ok())
        .and_then(|r| r.as_array().map(<[Object]>::to_vec))
        .unwrap_or_default();
    references
        .iter()
        .filter_map(|r| doc.resolve(r).ok())
        .filter_map(|r| r.as_dict().cloned())
        .filter(|r| r.get_name("TransformMethod") == Some(b"FieldMDP".as_slice()))
        .filter_map(|r| {
            let params = doc.resolve(r.get("TransformParams")?).ok()?;
            FieldLock::from_dict(doc, params.as_dict()?)
        })
        .collect()
}

/// The lock a signature field's `/Lock` dictionary declares.
pub(crate) fn lock_of_field<S: Source>(doc: &Document<S>, field: &Dict) -> Option<FieldLock> {
    let lock = doc.resolve(field.get("Lock")?).ok()?;
    FieldLock::from_dict(doc, lock.as_dict()?)
}

/// Every lock in force in `doc`, with the name of the signed field that put it there: the
/// FieldMDP references of each signature and the `/Lock` of each signed field.
pub(crate) fn locks_in_force<S: Source>(
    doc: &Document<S>,
) -> Result<Vec<(String, FieldLock)>, PadesError> {
    let mut out = Vec::new();
    for (name, field) in crate::fields::all_fields(doc)? {
        if field.get_name("FT") != Some(b"Sig".as_slice()) {
            continue;
        }
        let Some(value) = field.get("V") else {
            continue;
        };
        let Ok(Object::Dict(sig)) = doc.resolve(value) else {
            continue;
        };
        for lock in field_mdp_of(doc, &sig)
            .into_iter()
            .chain(lock_of_field(doc, &field))
        {
            out.push((name.clone(), lock));
        }
    }
    Ok(out)
}

/// Refuses when any of `fields` is locked by a signature already in `doc`.
pub(crate) fn ensure_unlocked<S: Source>(
    doc: &Document<S>,
    fields: &[&str],
) -> Result<(), PadesError> {
    let locks = locks_in_force(doc)?;
    for field in fields {
        if let Some((by, _)) = locks.iter().find(|(_, lock)| lock.covers(field)) {
            return Err(PadesError::FieldLocked {
                field: (*field).to_string(),
                by: by.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_cover_names_and_their_descendants() {
        let include = FieldLock {
            action: LockAction::Include,
            fields: vec!["金額".into(), "甲".into()],
        };
        assert!(include.covers("金額"));
        assert!(include.covers("甲.日付"));
        assert!(!include.covers("甲乙"));
        assert!(!include.covers("備考"));
        let exclude = FieldLock {
            action: LockAction::Exclude,
            ..include.clone()
        };
        assert!(!exclude.covers("金額") && exclude.covers("備考"));
        let all = FieldLock {
            action: LockAction::All,
            fields: Vec::new(),
        };
        assert!(all.covers("anything"));
    }
}
