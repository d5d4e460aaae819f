//! The built-in PKI when nodes run on several hosts. On one host the nodes share the PKI
//! folder (its TSA serial counter under a file lock, its records of what the CAs issued and
//! revoked). Nodes on several hosts each hold a copy of that folder, whose counters would hand
//! out the same serial numbers and whose records would not learn of another node's work; so
//! with PostgreSQL every node also uses the database:
//!
//! - the TSA reserves its serial numbers from one counter there, starting above what the file
//!   counter ever handed out (and above a restore's floor, which raises the file);
//! - a signer certificate the engine issues is recorded there before it is used, and
//!   `inkan pki revoke` records revocations there; the OCSP responder and the CRLs of every
//!   node answer from the folder and the database together.

use std::sync::Arc;

use inkan_pki::shared::SharedRecords;
use inkan_pki::tsa::{CounterFile, SerialBlocks};
use inkan_pki::{Pki, PkiError, Revocation};
use inkan_store::Store;

use crate::Inkan;

/// The TSA's counter's name in the database.
const TSA_SERIAL: &str = "tsa_serial";

/// What a node's PKI endpoints take from the database.
pub struct SharedPki {
    pub serials: Arc<dyn SerialBlocks>,
    pub records: Arc<dyn SharedRecords>,
}

/// The PKI endpoints answer on blocking threads, where waiting for the database is allowed.
struct InDatabase {
    store: Arc<dyn Store>,
    runtime: tokio::runtime::Handle,
    file: CounterFile,
}

fn database_error(e: inkan_store::StoreError) -> PkiError {
    PkiError::Invalid(format!("the PKI's records in the database: {e}"))
}

impl SerialBlocks for InDatabase {
    fn reserve(&self, size: u128) -> Result<u128, PkiError> {
        let floor = self.file.peek()?;
        self.runtime
            .block_on(self.store.reserve_counter(TSA_SERIAL, size, floor))
            .map_err(database_error)
    }
}

impl SharedRecords for InDatabase {
    fn lookup(&self, ca: &str, serial: &str) -> Result<Option<Option<Revocation>>, PkiError> {
        let record = self
            .runtime
            .block_on(self.store.pki_record(ca, serial))
            .map_err(database_error)?;
        record
            .map(|revocation| revocation.as_deref().map(parse_revocation).transpose())
            .transpose()
    }

    fn revocations(&self, ca: &str) -> Result<Vec<(String, Revocation)>, PkiError> {
        self.runtime
            .block_on(self.store.pki_revocations(ca))
            .map_err(database_error)?
            .into_iter()
            .map(|(serial, json)| Ok((serial, parse_revocation(&json)?)))
            .collect()
    }
}

fn parse_revocation(json: &str) -> Result<Revocation, PkiError> {
    serde_json::from_str(json)
        .map_err(|e| PkiError::Invalid(format!("a revocation in the database: {e}")))
}

/// The JSON a revocation is recorded as.
pub fn revocation_json(revocation: &Revocation) -> String {
    serde_json::to_string(revocation).unwrap_or_default()
}

impl Inkan {
    /// What the PKI endpoints of `pki` take from the database: its serial counter and
    /// records when the database is PostgreSQL (nodes may run on several hosts), else nothing
    /// (the PKI folder is shared).
    pub fn shared_pki(&self, pki: &Pki) -> Option<SharedPki> {
        if self.store.backend() != "postgres" {
            return None;
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let shared = Arc::new(InDatabase {
            store: self.store.clone(),
            runtime,
            file: CounterFile::new(&pki.tsa_counter_path()),
        });
        Some(SharedPki {
            serials: shared.clone(),
            records: shared,
        })
    }
}
