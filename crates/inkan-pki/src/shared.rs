//! What the CAs issued and revoked, as every node of an installation sees it. A PKI folder
//! records its certificates and revocations as files; nodes on several hosts each hold a copy
//! of that folder, and a copy does not learn of a signer certificate another node issued, nor
//! of a revocation made elsewhere. [`SharedRecords`] is that knowledge kept where every node
//! reads it (the service keeps it in PostgreSQL): the OCSP responder and the CRLs consult it
//! beside the folder's files.

use crate::{CaRole, PkiError, Revocation};

/// Certificates issued and revoked, shared by the nodes.
pub trait SharedRecords: Send + Sync {
    /// What is recorded of `serial` (hex) of the CA `ca` (see [`ca_label`]): nothing (`None`),
    /// issued and not revoked (`Some(None)`), or revoked.
    /// Called from a blocking thread (OCSP and CRLs are answered off the async workers).
    fn lookup(&self, ca: &str, serial: &str) -> Result<Option<Option<Revocation>>, PkiError>;
    /// Every revocation recorded for `ca`, by serial number (hex).
    fn revocations(&self, ca: &str) -> Result<Vec<(String, Revocation)>, PkiError>;
}

/// The name of a generation's CA in shared records: `g1/issuing-ca`, `g2/root`.
pub fn ca_label(generation: u32, ca: CaRole) -> String {
    format!("g{generation}/{}", ca.file_stem())
}
