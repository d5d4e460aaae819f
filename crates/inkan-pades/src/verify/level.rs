//! The PAdES baseline level a signature reached (ETSI EN 319 142-1) and whether it is "LTV
//! enabled".
//!
//! - B-B: a verified ETSI.CAdES.detached signature with the ESS signing-certificate attribute.
//! - B-T: plus a valid signature timestamp.
//! - B-LT: plus, in the DSS, revocation data for every non-root certificate of the signer's and
//!   the signature timestamp's TSA chains.
//! - B-LTA: plus a valid document timestamp over a revision whose DSS already held that data.
//! - LTV enabled: B-LTA, valid, and the validation data of every later document timestamp's
//!   TSA chain embedded too, so nothing has to be fetched once the certificates have expired.

use crate::Level;

use super::check::Checked;
use super::revocation::PathCheck;
use super::store::Dss;

/// A document timestamp, as the level of earlier signatures sees it.
pub(crate) struct DocTimestamp<'a> {
    /// The revision it covers.
    pub revision: usize,
    pub valid: bool,
    pub revocation: &'a PathCheck,
}

/// The level of a signature and its LTV status. `dss_at(r)` is the DSS as of revision `r`.
pub(crate) fn assess(
    sig: &Checked,
    timestamps: &[DocTimestamp<'_>],
    dss: &Dss,
    dss_at: &mut dyn FnMut(usize) -> Dss,
) -> (Option<Level>, bool) {
    if !sig.cms_ok || !sig.pades {
        return (None, false);
    }
    let Some(token) = sig.token.as_ref().filter(|t| t.ok()) else {
        return (Some(Level::BB), false);
    };
    let complete = |dss: &Dss| sig.revocation.covered_by(dss) && token.revocation.covered_by(dss);
    if !complete(dss) {
        return (Some(Level::BT), false);
    }
    let Some(revision) = sig.coverage.map(|c| c.revision) else {
        return (Some(Level::BLT), false);
    };
    let later: Vec<&DocTimestamp<'_>> = timestamps
        .iter()
        .filter(|t| t.valid && t.revision > revision)
        .collect();
    let archived = later.iter().any(|t| complete(&dss_at(t.revision)));
    if !archived {
        return (Some(Level::BLT), false);
    }
    let ltv = sig.report.valid && later.iter().all(|t| t.revocation.covered_by(dss));
    (Some(Level::BLTA), ltv)
}
