//! Documents shown on screen: the web pages render a document's pages as images, many requests
//! per page view. Reading for display is not a download, so it is not written to the audit trail
//! one image at a time; the page that shows the document records the view ([`Inkan::open_link`],
//! [`Inkan::view_envelope`]).

use inkan_domain::{DocumentId, EnvelopeId, OrganizationId};
use inkan_store::{DocumentRecord, TokenKind};

use crate::views::envelope_view;
use crate::{Caller, EnvelopeView, Inkan, Result, ServiceError, Staff};

/// Which stored revision of a document to show. `key` names the revision (document and
/// revision number), so a cache of rendered pages keyed by it never shows stale pages.
#[derive(Debug, Clone)]
pub struct DisplaySource {
    pub key: String,
    /// The document's ID.
    pub id: String,
    pub name: String,
    pub pages: u32,
    blob: String,
}

impl Inkan {
    /// A document of a signer's envelope, for display through their link.
    pub async fn signer_display(
        &self,
        token: &str,
        document: &str,
        caller: &Caller,
    ) -> Result<DisplaySource> {
        // The same gate as every other signer read: a dead envelope's link answers "gone", a
        // link with a check shows nothing before it is passed.
        let (link, _) = self.signer_documents_envelope(token, caller).await?;
        self.display_source(link.organization, link.envelope, document)
            .await
    }

    /// Every document of a signer's envelope, for display, in one read.
    pub async fn signer_displays(
        &self,
        token: &str,
        caller: &Caller,
    ) -> Result<Vec<DisplaySource>> {
        let (link, _) = self.signer_documents_envelope(token, caller).await?;
        let documents = self
            .store
            .documents(link.organization, link.envelope)
            .await?;
        Ok(documents.into_iter().map(DisplaySource::of).collect())
    }

    /// A document of a completed envelope, for display through the completion link.
    pub async fn completion_display(&self, token: &str, document: &str) -> Result<DisplaySource> {
        let link = self.resolve_link(token, TokenKind::Completion).await?;
        self.display_source(link.organization, link.envelope, document)
            .await
    }

    /// A document of one of the staff's envelopes, for display.
    pub async fn staff_display(
        &self,
        staff: &Staff,
        envelope: &str,
        document: &str,
    ) -> Result<DisplaySource> {
        let envelope = Self::parse_envelope_id(envelope)?;
        self.visible(staff, envelope).await?;
        self.display_source(staff.organization, envelope, document)
            .await
    }

    /// The bytes of a [`DisplaySource`] (decrypted and checked like every blob read).
    pub async fn display_bytes(&self, source: &DisplaySource) -> Result<Vec<u8>> {
        self.get_blob(&source.blob).await
    }

    /// One envelope for a staff member's screen, recorded as a view in the audit trail.
    pub async fn view_envelope(
        &self,
        staff: &Staff,
        id: &str,
        caller: &Caller,
    ) -> Result<EnvelopeView> {
        let id = Self::parse_envelope_id(id)?;
        let record = self.visible(staff, id).await?;
        let documents = self.store.documents(staff.organization, id).await?;
        let attachments = self.store.attachments(staff.organization, id).await?;
        self.append_audit(self.audit_entry(
            staff.organization,
            &staff.actor,
            "view",
            Some(id),
            None,
            caller,
            serde_json::json!({}),
        ))
        .await?;
        Ok(envelope_view(&record, &documents, &attachments))
    }

    async fn display_source(
        &self,
        organization: OrganizationId,
        envelope: EnvelopeId,
        document: &str,
    ) -> Result<DisplaySource> {
        let id: DocumentId = document
            .parse()
            .map_err(|_| ServiceError::NotFound("the document"))?;
        let doc = self
            .store
            .document(organization, id)
            .await?
            .filter(|d| d.envelope == envelope)
            .ok_or(ServiceError::NotFound("the document"))?;
        Ok(DisplaySource::of(doc))
    }
}

impl DisplaySource {
    fn of(doc: DocumentRecord) -> DisplaySource {
        DisplaySource {
            key: format!("{}@{}", doc.id, doc.revision),
            id: doc.id.to_string(),
            name: doc.name,
            pages: doc.pages,
            blob: doc.current_blob,
        }
    }
}
