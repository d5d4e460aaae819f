//! PAdES for Inkan: signing a PDF at B-B, B-T, B-LT or B-LTA (ETSI EN 319 142-1), document
//! timestamps for archive renewal, and the DSS.
//!
//! The PDF bytes are handled by `inkan-pdf` (incremental updates that never change a byte of the
//! original), the CMS by `inkan-cms`, timestamps and revocation data by `inkan-pki`'s clients.
#![doc = include_str!("../README.md")]

mod annotations;
mod appearance;
mod certificate;
mod contents;
mod dates;
mod dss;
mod error;
mod fields;
pub mod font;
pub mod forms;
mod locks;
pub mod ltv;
mod sign;
mod stages;
mod stamp;
mod timestamp;
pub mod verify;

pub use appearance::Visible;
pub use certificate::{
    render_certificate, render_plain_document, CertifiedDocument, ConclusionCertificate,
    SigningOperation,
};
pub use dates::{japanese_time, pdf_date};
pub use dss::{add_validation_data, add_validation_data_per_signature, vri_key};
pub use error::{FieldProblem, PadesError};
pub use locks::{FieldLock, LockAction};
pub use ltv::{RevocationFetcher, ValidationData};
pub use sign::{
    sign_pdf, sign_pdf_bytes, Certify, Level, Services, SignOptions, SignOutcome, Signer,
};
pub use stamp::{
    draw_texts, draw_texts_bytes, stamp_every_page, stamp_every_page_bytes, PlacedText,
};
pub use timestamp::{
    add_document_timestamp, archive_horizon, archive_horizon_of, renew_archive_timestamp,
    renew_archive_timestamp_bytes, timestamp_document, timestamp_document_bytes,
};
pub use verify::{conclusion_id, verify_pdf, verify_source, VerifyLimits, VerifyOptions};
