//! 実印タイプ with a certificate the signer brings: a PKCS#12 file uploaded through their link.
//! Its key and chain are checked at once (password, key matching the certificate, validity),
//! kept as an encrypted blob until the signer's signatures are in every document, and deleted
//! when the envelope is sealed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::{Decode, Encode};
use inkan_domain::{EnvelopeId, OrganizationId, RecipientId, Role, SignatureMethod};
use inkan_keys::{SigningKey, SoftwareKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use x509_cert::Certificate;

use crate::{Caller, Inkan, Result, ServiceError};

/// The uploaded certificate, as the signer sees it after the upload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnCertificateView {
    pub subject: String,
    pub issuer: String,
    /// Seconds since the Unix epoch.
    pub not_after: i64,
}

/// A PKCS#12 upload.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OwnCertificateUpload {
    /// The .p12 / .pfx file, base64.
    pub content_base64: String,
    pub password: String,
}

/// What is kept until signing: the key (PKCS#8) and the chain, end-entity first.
#[derive(Serialize, Deserialize)]
struct Kept {
    key: String,
    chain: Vec<String>,
}

/// A signer's own key and chain, ready to sign.
pub struct OwnKey {
    pub key: SoftwareKey,
    pub certificate: Certificate,
    pub chain: Vec<Certificate>,
}

pub(crate) fn key_blob(
    org: OrganizationId,
    envelope: EnvelopeId,
    recipient: RecipientId,
) -> String {
    format!("org/{org}/env/{envelope}/keys/{recipient}")
}

fn time_of(t: &x509_cert::time::Time) -> i64 {
    t.to_unix_duration().as_secs() as i64
}

impl Inkan {
    /// Takes a signer's PKCS#12 for their 実印タイプ signature.
    pub async fn upload_own_certificate(
        &self,
        token: &str,
        upload: &OwnCertificateUpload,
        caller: &Caller,
    ) -> Result<OwnCertificateView> {
        let (link, record) = self.signer_envelope(token, caller).await?;
        let recipient = record
            .envelope
            .recipient(link.recipient)
            .ok_or(ServiceError::NotFound("this link"))?;
        if recipient.role != Role::Signer || recipient.method != SignatureMethod::Party {
            return Err(ServiceError::NotAllowed(
                "only a signer asked for a 実印タイプ signature uses their own certificate".into(),
            ));
        }
        if !record.envelope.due().contains(&recipient.id) {
            return Err(ServiceError::NotAllowed(
                "it is not this signer's turn".into(),
            ));
        }
        let bytes = STANDARD.decode(upload.content_base64.trim()).map_err(|e| {
            ServiceError::Invalid(format!("the PKCS#12 file is not valid base64 ({e})"))
        })?;
        if bytes.len() > 1024 * 1024 {
            return Err(ServiceError::Invalid(
                "a PKCS#12 file is at most 1 MB".into(),
            ));
        }
        let store = p12_keystore::KeyStore::from_pkcs12(&bytes, &upload.password).map_err(|e| {
            ServiceError::Invalid(format!(
                "the PKCS#12 file cannot be opened (wrong password, or not a PKCS#12 file): {e}"
            ))
        })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| ServiceError::Invalid("the PKCS#12 file holds no private key".into()))?;
        let own = parse(
            chain.key(),
            chain.chain().iter().map(|c| c.as_der().to_vec()).collect(),
        )?;
        let now = self.now();
        let validity = &own.certificate.tbs_certificate.validity;
        if time_of(&validity.not_before) > now || time_of(&validity.not_after) <= now {
            return Err(ServiceError::Invalid(
                "証明書の有効期間外です (the certificate is not valid today)".into(),
            ));
        }
        // Checked here, before anything is kept: a certificate that does not chain to the
        // installation's trust list is refused, so sealing never fetches addresses it names.
        let at =
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(now).unwrap_or(0));
        if let Err(e) = inkan_cms::path::validate(
            &own.certificate,
            &own.chain,
            self.engine.anchors(),
            at,
            None,
        ) {
            return Err(ServiceError::Invalid(format!(
                "この証明書は、このサービスが信頼する認証局から発行されたものではありません (the certificate does not chain to a CA this installation trusts: {e}). 管理者が信頼する認証局 (trust_anchors) に追加した認証局の証明書をお使いください。"
            )));
        }
        let view = OwnCertificateView {
            subject: own.certificate.tbs_certificate.subject.to_string(),
            issuer: own.certificate.tbs_certificate.issuer.to_string(),
            not_after: time_of(&validity.not_after),
        };
        let kept = Kept {
            key: STANDARD.encode(chain.key()),
            chain: chain
                .chain()
                .iter()
                .map(|c| STANDARD.encode(c.as_der()))
                .collect(),
        };
        let json = serde_json::to_vec(&kept)
            .map_err(|e| ServiceError::failed("the signer's own certificate", e))?;
        self.put_blob(
            &key_blob(link.organization, link.envelope, link.recipient),
            &json,
        )
        .await?;
        self.append_audit(self.audit_entry(
            link.organization,
            &format!("recipient:{} {}", recipient.id, recipient.email),
            "upload_certificate",
            Some(link.envelope),
            None,
            caller,
            serde_json::json!({ "subject": view.subject, "issuer": view.issuer }),
        ))
        .await?;
        Ok(view)
    }

    /// The signer's uploaded key, if they brought one.
    pub(crate) async fn own_key(
        &self,
        org: OrganizationId,
        envelope: EnvelopeId,
        recipient: RecipientId,
    ) -> Result<Option<OwnKey>> {
        let key = inkan_blobs::BlobKey::new(key_blob(org, envelope, recipient))
            .map_err(|e| ServiceError::failed("the signer's own certificate", e))?;
        let bytes = match self.blobs.get(&key).await {
            Ok(b) => b,
            Err(inkan_blobs::BlobError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let kept: Kept = serde_json::from_slice(&bytes)
            .map_err(|e| ServiceError::failed("the signer's own certificate", e))?;
        let decode = |s: &str| {
            STANDARD
                .decode(s)
                .map_err(|e| ServiceError::failed("the signer's own certificate", e))
        };
        let chain = kept
            .chain
            .iter()
            .map(|c| decode(c))
            .collect::<Result<Vec<_>>>()?;
        parse(&decode(&kept.key)?, chain).map(Some)
    }
}

/// The key and the end-entity certificate (the one whose public key is the key's) and the rest.
fn parse(key_der: &[u8], chain_der: Vec<Vec<u8>>) -> Result<OwnKey> {
    let key = SoftwareKey::from_pkcs8_der(key_der).map_err(|e| {
        ServiceError::Invalid(format!("the PKCS#12 key cannot be used for signing: {e}"))
    })?;
    let mut certificates = chain_der
        .iter()
        .map(|d| Certificate::from_der(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ServiceError::Invalid(format!(
                "a certificate in the PKCS#12 file is unreadable: {e}"
            ))
        })?;
    let public = key
        .public_key()
        .to_der()
        .map_err(|e| ServiceError::failed("the signer's own certificate", e))?;
    let position = certificates
        .iter()
        .position(|c| {
            c.tbs_certificate
                .subject_public_key_info
                .to_der()
                .ok()
                .as_deref()
                == Some(&public[..])
        })
        .ok_or_else(|| {
            ServiceError::Invalid("no certificate in the PKCS#12 file belongs to its key".into())
        })?;
    let certificate = certificates.remove(position);
    Ok(OwnKey {
        key,
        certificate,
        chain: certificates,
    })
}
