//! A PKI directory: a root CA, an issuing CA, and the service certificates they certify (TSA,
//! OCSP responder, witness signer), with the database of what was issued and revoked.
//!
//! Layout of `DIR`:
//! ```text
//! pki.toml                 settings (base URL, organisation, TSA policy, key backend)
//! root.pem                 the trust anchor
//! issuing-ca.pem           the CA that issues every end-entity certificate
//! chain.pem                issuing CA, then root
//! tsa.pem ocsp.pem witness.pem   service certificates (renewed in place before they end)
//! keys/                    private keys, wrapped under the key-encryption key (file backend)
//! db/<ca>/issued/<serial>.pem    every certificate a CA issued
//! db/<ca>/revoked/<serial>.toml  revocations (one file each, written atomically)
//! db/tsa-serial            the next block of TSA serial numbers
//! g2/ g3/ …                later generations (`inkan pki rollover`), each laid out as above
//!                          (root.pem … db/) plus cross-certified.pem: its root's key
//!                          certified by the generation before
//! ```
//! A rollover brings a new root and issuing CA (and new service keys) without touching the old
//! ones: what they issued is still answered for at the URLs written into it, and the new root,
//! cross-certified by the old, lets relying parties who trust only the old root validate what
//! the new generation signs.
//! Revocation is a file appearing under `revoked/`: `inkan pki revoke` and a running
//! `inkan pki serve` share the directory, so a revocation is visible to OCSP and CRLs at once.

use const_oid::db::rfc5280;
use der::Encode;
use inkan_keys::{KeyKind, SigningKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use crate::config::{generation_segment, KeyBackendConfig, PkiConfig};
use crate::keystore::{KeyRole, KeyStore};
use crate::live::LiveCertificate;
use crate::x509::{self, CertificateRequest};
use crate::{fsutil, PkiError};

/// The two certification authorities of a PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaRole {
    Root,
    Issuing,
}

impl CaRole {
    pub fn file_stem(self) -> &'static str {
        match self {
            CaRole::Root => "root",
            CaRole::Issuing => "issuing-ca",
        }
    }
}

/// Validity periods, in days.
const ROOT_DAYS: u32 = 3650;
const ISSUING_DAYS: u32 = 3650;
const TSA_DAYS: u32 = 5 * 365;
const OCSP_DAYS: u32 = 90;
const WITNESS_DAYS: u32 = 2 * 365;
/// A service certificate this close to its end is re-certified (the TSA's earlier: see
/// [`Pki::renew_service_certificates`]).
const RENEW_BEFORE_DAYS: u64 = 30;

/// Options of `inkan pki init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub base_url: String,
    pub org: String,
    pub keys: KeyBackendConfig,
    /// The TSA policy OID; a random one under 2.25 when `None`.
    pub tsa_policy: Option<String>,
    /// How long the first TSA certificate lives (default 5 years). Renewals always give 5
    /// years; a short first certificate lets a test or a trial watch the renewal happen.
    pub tsa_lifetime: Option<Duration>,
}

/// A certificate's revocation, as recorded in the CA database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Revocation {
    /// Seconds since the Unix epoch.
    pub revoked_at: u64,
    pub reason: RevocationReason,
}

/// CRLReason (RFC 5280 §5.3.1).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
}

impl RevocationReason {
    pub const ALL: [RevocationReason; 8] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::CaCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::CertificateHold,
        Self::PrivilegeWithdrawn,
    ];

    pub fn parse(text: &str) -> Result<Self, PkiError> {
        let wanted: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|r| r.name().replace('-', "") == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|r| r.name()).collect();
                PkiError::Invalid(format!(
                    "unknown revocation reason {text:?}; one of: {}",
                    names.join(", ")
                ))
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "key-compromise",
            Self::CaCompromise => "ca-compromise",
            Self::AffiliationChanged => "affiliation-changed",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessation-of-operation",
            Self::CertificateHold => "certificate-hold",
            Self::PrivilegeWithdrawn => "privilege-withdrawn",
        }
    }

    pub fn to_crl_reason(self) -> x509_cert::ext::pkix::CrlReason {
        use x509_cert::ext::pkix::CrlReason as R;
        match self {
            Self::Unspecified => R::Unspecified,
            Self::KeyCompromise => R::KeyCompromise,
            Self::CaCompromise => R::CaCompromise,
            Self::AffiliationChanged => R::AffiliationChanged,
            Self::Superseded => R::Superseded,
            Self::CessationOfOperation => R::CessationOfOperation,
            Self::CertificateHold => R::CertificateHold,
            Self::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
        }
    }
}

/// The status of a serial number in a CA's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertState {
    Good,
    Revoked(Revocation),
    /// Not issued by this CA.
    Unknown,
}

/// An end-entity certificate to issue.
#[derive(Debug, Clone)]
pub struct SignerRequest {
    pub name: String,
    pub email: Option<String>,
    pub days: u32,
}

/// When one of the installation's own certificates ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// `root`, `issuing-ca`, `tsa`, `ocsp` or `witness` (the file stem in the PKI directory), or
    /// `cross-certified` (a later generation's root certified by the one before).
    pub role: &'static str,
    /// The generation the certificate belongs to (1 until the first rollover).
    pub generation: u32,
    /// The certificate's common name.
    pub subject: String,
    pub not_after: SystemTime,
}

/// The file, in a later generation's folder, of its root's key certified by the generation
/// before.
const CROSS_CERTIFIED: &str = "cross-certified.pem";

/// An opened PKI directory: the generation that issues today, with the earlier ones that still
/// answer for what they issued.
pub struct Pki {
    /// The PKI directory (pki.toml, keys, TSA serials).
    dir: PathBuf,
    /// This generation's folder: `dir` for the first, `dir/g{n}` for a later one.
    folder: PathBuf,
    generation: u32,
    config: PkiConfig,
    keys: Arc<KeyStore>,
    root: Certificate,
    issuing: Certificate,
    tsa: LiveCertificate,
    ocsp: LiveCertificate,
    witness: LiveCertificate,
    /// This generation's root key certified by the previous generation's root (none for the
    /// first).
    cross_certified: Option<Certificate>,
    /// The generations before this one, newest first (empty for an earlier generation itself).
    earlier: Vec<Arc<Pki>>,
}

/// The service certificates, each renewed in place by re-certifying its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRole {
    Tsa,
    Ocsp,
    Witness,
}

impl ServiceRole {
    pub const ALL: [ServiceRole; 3] = [ServiceRole::Tsa, ServiceRole::Ocsp, ServiceRole::Witness];

    /// The file stem in the PKI directory (`tsa`, `ocsp`, `witness`).
    pub fn file_stem(self) -> &'static str {
        match self {
            ServiceRole::Tsa => "tsa",
            ServiceRole::Ocsp => "ocsp",
            ServiceRole::Witness => "witness",
        }
    }

    fn lifetime(self) -> Duration {
        let days = match self {
            ServiceRole::Tsa => TSA_DAYS,
            ServiceRole::Ocsp => OCSP_DAYS,
            ServiceRole::Witness => WITNESS_DAYS,
        };
        Duration::from_secs(u64::from(days) * 86_400)
    }

    fn key_role(self) -> KeyRole {
        match self {
            ServiceRole::Tsa => KeyRole::Tsa,
            ServiceRole::Ocsp => KeyRole::OcspResponder,
            ServiceRole::Witness => KeyRole::Witness,
        }
    }
}

/// A service certificate [`Pki::renew_service_certificates`] replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub role: ServiceRole,
    pub generation: u32,
    pub old_not_after: SystemTime,
    pub new_not_after: SystemTime,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("dir", &self.dir)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// Creates a new PKI in `dir` (which must not hold one already).
    pub fn init(dir: &Path, options: InitOptions) -> Result<Pki, PkiError> {
        if dir.join("pki.toml").exists() {
            return Err(PkiError::Directory(
                dir.display().to_string(),
                "already holds a PKI (pki.toml exists); choose another directory".into(),
            ));
        }
        validate_base_url(&options.base_url)?;
        fsutil::create_dir(dir)?;
        let config = PkiConfig {
            base_url: options.base_url.trim_end_matches('/').to_string(),
            org: options.org,
            tsa_policy: match options.tsa_policy {
                Some(policy) => {
                    // Parse and read back, so a policy every reader accepts is all we write.
                    let oid = policy.parse::<const_oid::ObjectIdentifier>().map_err(|_| {
                        PkiError::Invalid(format!("TSA policy {policy:?} is not an OID"))
                    })?;
                    const_oid::ObjectIdentifier::from_bytes(oid.as_bytes()).map_err(|_| {
                        PkiError::Invalid(format!("TSA policy {policy:?} has an arc too large"))
                    })?;
                    policy
                }
                None => random_policy_oid(),
            },
            keys: options.keys,
            generation: 1,
        };
        let keys = KeyStore::open(dir, &config.keys, true)?;
        create_generation(dir, &config, &keys, 1, options.tsa_lifetime)?;

        // pki.toml last: a directory without it is an unfinished init, not a PKI.
        config.write(dir)?;
        Pki::open(dir)
    }

    /// Opens an existing PKI directory: its current generation, with the earlier ones.
    pub fn open(dir: &Path) -> Result<Pki, PkiError> {
        let config = PkiConfig::read(dir)?;
        let keys = Arc::new(KeyStore::open(dir, &config.keys, false)?);
        let earlier = (1..config.generation)
            .rev()
            .map(|n| Pki::open_generation(dir, &config, &keys, n, Vec::new()).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Pki::open_generation(dir, &config, &keys, config.generation, earlier)
    }

    fn open_generation(
        dir: &Path,
        config: &PkiConfig,
        keys: &Arc<KeyStore>,
        generation: u32,
        earlier: Vec<Arc<Pki>>,
    ) -> Result<Pki, PkiError> {
        let folder = generation_folder(dir, generation);
        let read = |name: &str| read_single_pem(&folder.join(name));
        let live = |name: &str| LiveCertificate::open(&folder.join(name));
        Ok(Pki {
            root: read("root.pem")?,
            issuing: read("issuing-ca.pem")?,
            tsa: live("tsa.pem")?,
            ocsp: live("ocsp.pem")?,
            witness: live("witness.pem")?,
            cross_certified: match generation {
                0 | 1 => None,
                _ => Some(read(CROSS_CERTIFIED)?),
            },
            dir: dir.to_path_buf(),
            folder,
            generation,
            config: config.clone(),
            keys: keys.clone(),
            earlier,
        })
    }

    /// Brings in a new generation: a new root (cross-certified by the current one), a new
    /// issuing CA and new TSA, OCSP-responder and witness keys and certificates, in
    /// `dir/g{n}/`, with CA services at `BASE/g{n}/…`. The earlier generations stay as they
    /// are: their certificates, revocations and URLs keep serving what they issued, and their
    /// roots stay trusted. What runs with this directory must be restarted to issue from the new
    /// generation.
    pub fn rollover(dir: &Path) -> Result<Pki, PkiError> {
        let previous = Pki::open(dir)?;
        let generation = previous.generation + 1;
        let folder = generation_folder(dir, generation);
        if folder.exists() {
            return Err(PkiError::Directory(
                folder.display().to_string(),
                format!(
                    "第 {generation} 世代への切り替えが途中で止まった跡です。このフォルダを移動してから、\
                     もう一度実行してください / is left from a rollover to generation {generation} \
                     that did not finish (pki.toml still names generation {}); move it away and \
                     run again",
                    previous.generation
                ),
            ));
        }
        let mut config = previous.config.clone();
        let root = create_generation(dir, &config, &previous.keys, generation, None)?;

        // The new root's key, certified by the previous root: for as long as both live.
        let previous_key = previous.ca_key(CaRole::Root)?;
        let urls = previous.urls();
        let mut validity = x509::validity(ROOT_DAYS)?;
        for end in [&previous.root, &root].map(|c| c.tbs_certificate.validity.not_after) {
            if end.to_system_time() < validity.not_after.to_system_time() {
                validity.not_after = end;
            }
        }
        let cross = CertificateRequest {
            subject: root.tbs_certificate.subject.clone(),
            subject_key: &root.tbs_certificate.subject_public_key_info,
            issuer: previous.root.tbs_certificate.subject.clone(),
            issuer_key: previous_key.as_ref(),
            serial: x509::random_serial()?,
            validity,
            extensions: vec![
                x509::basic_constraints(true, None)?,
                x509::key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)?,
                x509::subject_key_identifier(&root.tbs_certificate.subject_public_key_info)?,
                x509::authority_key_identifier(previous_key.public_key())?,
                x509::crl_distribution_point(&urls.crl(CaRole::Root))?,
                x509::authority_info_access(None, Some(&urls.certificate(CaRole::Root)))?,
            ],
        }
        .sign()?;
        record_issued(&previous.folder, CaRole::Root, &cross)?;
        write_pem(&folder.join(CROSS_CERTIFIED), std::slice::from_ref(&cross))?;

        // pki.toml last: until it names the new generation, the old one issues.
        config.generation = generation;
        config.write(dir)?;
        Pki::open(dir)
    }

    /// The PKI directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This generation's folder (the PKI directory itself for the first generation).
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// 1 until the first rollover, then counted up by each.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The URLs written into this generation's certificates.
    pub fn urls(&self) -> crate::config::Urls {
        self.config.urls(self.generation)
    }

    /// The generations before this one, newest first.
    pub fn earlier(&self) -> &[Arc<Pki>] {
        &self.earlier
    }

    /// This generation, then the earlier ones, newest first.
    pub fn generations(&self) -> impl Iterator<Item = &Pki> {
        std::iter::once(self).chain(self.earlier.iter().map(|g| g.as_ref()))
    }

    /// Every generation's root, oldest first: what this installation's signatures chain to.
    pub fn roots(&self) -> Vec<Certificate> {
        let mut roots: Vec<Certificate> = self.generations().map(|g| g.root.clone()).collect();
        roots.reverse();
        roots
    }

    /// The oldest generation's root still valid at `at` (this generation's when none is).
    /// Validation data gathered up to it serves every relying party: those who trust only an
    /// old root — installed in their trust lists years ago — through the cross certificates,
    /// and those who trust a newer root, whose path is a part of that one.
    pub fn oldest_valid_root(&self, at: SystemTime) -> &Certificate {
        self.generations()
            .filter(|g| {
                let validity = &g.root.tbs_certificate.validity;
                validity.not_before.to_system_time() <= at
                    && at <= validity.not_after.to_system_time()
            })
            .last()
            .map_or(&self.root, |g| &g.root)
    }

    /// What a signature by this generation carries besides its own certificate: the issuing
    /// CA, then the cross certificates that lead from this generation's root back to the
    /// first one's.
    pub fn chain(&self) -> Vec<Certificate> {
        std::iter::once(self.issuing.clone())
            .chain(self.generations().filter_map(|g| g.cross_certified.clone()))
            .collect()
    }

    /// This generation's root certified by the previous generation's root (none for the
    /// first).
    pub fn cross_certified(&self) -> Option<&Certificate> {
        self.cross_certified.as_ref()
    }

    /// After this directory was restored from a backup taken earlier: numbers the lost
    /// installation may have handed out since must not be handed out again. Certificate serials
    /// are random and CRL numbers follow the clock; TSA serials are a counter, raised here to
    /// the restore time in milliseconds × 2^24, above any count of tokens issued before (and
    /// above an earlier restore's floor for as long as fewer than 2^24 tokens are issued per
    /// millisecond between the two).
    /// The database's folders are recreated too: a backup carries files, and an empty
    /// `revoked/` is as much a part of the PKI as a full one.
    pub fn continue_after_restore(dir: &Path, now: SystemTime) -> Result<(), PkiError> {
        let generations = PkiConfig::read(dir).map_or(1, |c| c.generation);
        for generation in 1..=generations {
            create_database_folders(&generation_folder(dir, generation))?;
        }
        let millis = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        crate::tsa::serials::CounterFile::new(&dir.join("db").join("tsa-serial"))
            .raise_to(millis << 24)
    }
    /// The TSA's serial counter file (`db/tsa-serial`), one for every generation.
    pub fn tsa_counter_path(&self) -> PathBuf {
        self.dir().join("db").join("tsa-serial")
    }

    pub fn config(&self) -> &PkiConfig {
        &self.config
    }
    pub fn root(&self) -> &Certificate {
        &self.root
    }
    pub fn issuing_ca(&self) -> &Certificate {
        &self.issuing
    }
    pub fn ca_certificate(&self, ca: CaRole) -> &Certificate {
        match ca {
            CaRole::Root => &self.root,
            CaRole::Issuing => &self.issuing,
        }
    }
    /// The TSA's certificate as it is now (renewed in place: see [`LiveCertificate`]).
    pub fn tsa_certificate(&self) -> Arc<Certificate> {
        self.tsa.current()
    }
    /// The OCSP responder's certificate as it is now.
    pub fn ocsp_certificate(&self) -> Arc<Certificate> {
        self.ocsp.current()
    }
    /// The witness (立会人型) certificate as it is now.
    pub fn witness_certificate(&self) -> Arc<Certificate> {
        self.witness.current()
    }
    fn service_certificate(&self, role: ServiceRole) -> Arc<Certificate> {
        match role {
            ServiceRole::Tsa => self.tsa_certificate(),
            ServiceRole::Ocsp => self.ocsp_certificate(),
            ServiceRole::Witness => self.witness_certificate(),
        }
    }

    /// The TSA's signing key.
    pub fn tsa_key(&self) -> Result<Arc<dyn SigningKey>, PkiError> {
        self.keys.load(self.generation, KeyRole::Tsa)
    }
    /// The OCSP responder's signing key.
    pub fn ocsp_key(&self) -> Result<Arc<dyn SigningKey>, PkiError> {
        self.keys.load(self.generation, KeyRole::OcspResponder)
    }
    /// The witness (立会人型) signing key.
    pub fn witness_key(&self) -> Result<Arc<dyn SigningKey>, PkiError> {
        self.keys.load(self.generation, KeyRole::Witness)
    }
    pub(crate) fn ca_key(&self, ca: CaRole) -> Result<Arc<dyn SigningKey>, PkiError> {
        self.keys.load(
            self.generation,
            match ca {
                CaRole::Root => KeyRole::Root,
                CaRole::Issuing => KeyRole::IssuingCa,
            },
        )
    }

    /// Issues a signer certificate for a new key pair made here; returns both.
    pub fn issue_signer(
        &self,
        request: &SignerRequest,
        kind: KeyKind,
    ) -> Result<(Certificate, inkan_keys::SoftwareKey), PkiError> {
        let key = inkan_keys::SoftwareKey::generate(kind)?;
        let cert = self.issue_signer_for_key(request, key.public_key())?;
        Ok((cert, key))
    }

    /// Issues a signer certificate for a public key whose private half lives elsewhere (a
    /// signer's own token, for example).
    pub fn issue_signer_for_key(
        &self,
        request: &SignerRequest,
        public_key: &spki::SubjectPublicKeyInfoOwned,
    ) -> Result<Certificate, PkiError> {
        if request.days == 0 || request.days > 3650 {
            return Err(PkiError::Invalid(format!(
                "a signer certificate lasts 1 to 3650 days, not {}",
                request.days
            )));
        }
        let issuer_key = self.ca_key(CaRole::Issuing)?;
        let urls = self.urls();
        let mut extensions = signer_extensions(&urls, public_key, issuer_key.public_key())?;
        if let Some(email) = &request.email {
            validate_email(email)?;
            extensions.push(x509::subject_alt_email(email)?);
        }
        let cert = CertificateRequest {
            subject: x509::name(&self.config.org, &request.name)?,
            subject_key: public_key,
            issuer: self.issuing.tbs_certificate.subject.clone(),
            issuer_key: issuer_key.as_ref(),
            serial: x509::random_serial()?,
            validity: x509::validity(request.days)?,
            extensions,
        }
        .sign()?;
        record_issued(&self.folder, CaRole::Issuing, &cert)?;
        Ok(cert)
    }

    /// Re-certifies each service key whose certificate ends before `now` plus its lead: 30
    /// days for the OCSP responder and the witness, `tsa_lead` (at least 30 days) for the TSA —
    /// a caller that renews archive timestamps a year before their TSA certificate ends passes a
    /// year and more, so every new timestamp outlasts that window. The new certificate (same
    /// key, full lifetime from today) replaces the file atomically; whoever signs with it reads
    /// it at their next use. Earlier generations' OCSP responders are renewed too: they still
    /// answer for what their CA issued (their TSA and witness sign no more). Returns what was
    /// renewed.
    pub fn renew_service_certificates(
        &self,
        now: SystemTime,
        tsa_lead: Duration,
    ) -> Result<Vec<Renewal>, PkiError> {
        let mut renewed = self.renew_own(&ServiceRole::ALL, now, tsa_lead)?;
        for earlier in &self.earlier {
            renewed.extend(earlier.renew_own(&[ServiceRole::Ocsp], now, tsa_lead)?);
        }
        Ok(renewed)
    }

    fn renew_own(
        &self,
        roles: &[ServiceRole],
        now: SystemTime,
        tsa_lead: Duration,
    ) -> Result<Vec<Renewal>, PkiError> {
        let floor = Duration::from_secs(RENEW_BEFORE_DAYS * 86_400);
        let issuer = ServiceIssuer {
            folder: &self.folder,
            config: &self.config,
            keys: &self.keys,
            generation: self.generation,
            issuing: &self.issuing,
        };
        let mut renewed = Vec::new();
        for &role in roles {
            let lead = match role {
                ServiceRole::Tsa => tsa_lead.max(floor),
                _ => floor,
            };
            let current = self.service_certificate(role);
            let old_not_after = current.tbs_certificate.validity.not_after.to_system_time();
            if old_not_after > now + lead {
                continue;
            }
            let key = self.keys.load(self.generation, role.key_role())?;
            let cert = issuer.issue(role, key.public_key(), role.lifetime())?;
            let new_not_after = cert.tbs_certificate.validity.not_after.to_system_time();
            if new_not_after <= old_not_after {
                continue; // the issuing CA ends first: only a new CA helps (`inkan pki status`)
            }
            write_pem(
                &self.folder.join(format!("{}.pem", role.file_stem())),
                std::slice::from_ref(&cert),
            )?;
            renewed.push(Renewal {
                role,
                generation: self.generation,
                old_not_after,
                new_not_after,
            });
        }
        Ok(renewed)
    }

    /// When each certificate of the installation ends, soonest first: of every generation the
    /// root, the issuing CA, the cross certificate, and the TSA, OCSP-responder and witness
    /// certificates. What an operator watches: a TSA or witness certificate that lapses stops
    /// sealing, a CA that lapses stops everything.
    pub fn expiries(&self) -> Vec<Expiry> {
        let mut all: Vec<Expiry> = self
            .generations()
            .flat_map(|g| {
                let own = [
                    ("root", g.root.clone()),
                    ("issuing-ca", g.issuing.clone()),
                    ("tsa", (*g.tsa_certificate()).clone()),
                    ("ocsp", (*g.ocsp_certificate()).clone()),
                    ("witness", (*g.witness_certificate()).clone()),
                ];
                let cross = g.cross_certified.clone().map(|c| ("cross-certified", c));
                own.into_iter()
                    .chain(cross)
                    .map(|(role, cert)| Expiry {
                        role,
                        generation: g.generation,
                        subject: x509::common_name(&cert.tbs_certificate.subject)
                            .unwrap_or_default(),
                        not_after: cert.tbs_certificate.validity.not_after.to_system_time(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        all.sort_by_key(|e| (e.not_after, e.generation));
        all
    }

    /// Which of this generation's CAs issued `cert`, if any (by name and signature).
    pub fn issuer_of(&self, cert: &Certificate) -> Option<CaRole> {
        [CaRole::Issuing, CaRole::Root].into_iter().find(|ca| {
            let issuer = self.ca_certificate(*ca);
            x509::is_issued_by(cert, issuer) && signature_valid(cert, issuer)
        })
    }

    /// Revokes a certificate issued by this PKI, in whichever generation issued it.
    pub fn revoke(
        &self,
        cert: &Certificate,
        reason: RevocationReason,
    ) -> Result<Revocation, PkiError> {
        let (generation, ca) = self
            .generations()
            .find_map(|g| g.issuer_of(cert).map(|ca| (g, ca)))
            .ok_or_else(|| {
                PkiError::Invalid("this certificate was not issued by this PKI".into())
            })?;
        generation.revoke_own(ca, cert, reason)
    }

    fn revoke_own(
        &self,
        ca: CaRole,
        cert: &Certificate,
        reason: RevocationReason,
    ) -> Result<Revocation, PkiError> {
        let serial = serial_hex(&cert.tbs_certificate.serial_number);
        if let CertState::Revoked(existing) =
            self.status(ca, &cert.tbs_certificate.serial_number)?
        {
            return Ok(existing); // revoking twice changes nothing
        }
        let revocation = Revocation {
            revoked_at: unix_now(),
            reason,
        };
        let text = toml::to_string(&revocation).map_err(|e| PkiError::Config(e.to_string()))?;
        let path = self.db(ca).join("revoked").join(format!("{serial}.toml"));
        fsutil::write_atomic(&path, text.as_bytes())?;
        Ok(revocation)
    }

    /// The status of `serial` in the database of this generation's `ca`, read from disk on
    /// every call.
    pub fn status(&self, ca: CaRole, serial: &SerialNumber) -> Result<CertState, PkiError> {
        let serial = serial_hex(serial);
        let db = self.db(ca);
        let revoked = db.join("revoked").join(format!("{serial}.toml"));
        match std::fs::read_to_string(&revoked) {
            Ok(text) => {
                let revocation: Revocation = toml::from_str(&text)
                    .map_err(|e| PkiError::Config(format!("{}: {e}", revoked.display())))?;
                return Ok(CertState::Revoked(revocation));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(PkiError::io(&revoked, e)),
        }
        if db.join("issued").join(format!("{serial}.pem")).exists() {
            Ok(CertState::Good)
        } else {
            Ok(CertState::Unknown)
        }
    }

    /// [`Pki::status`], with what other nodes recorded in `shared`: a revocation there counts,
    /// and a certificate this folder does not know is good when another node issued it.
    pub fn shared_status(
        &self,
        ca: CaRole,
        serial: &SerialNumber,
        shared: Option<&dyn crate::shared::SharedRecords>,
    ) -> Result<CertState, PkiError> {
        let local = self.status(ca, serial)?;
        let Some(shared) = shared else {
            return Ok(local);
        };
        if let CertState::Revoked(_) = local {
            return Ok(local);
        }
        let label = crate::shared::ca_label(self.generation, ca);
        Ok(match shared.lookup(&label, &serial_hex(serial))? {
            Some(Some(revocation)) => CertState::Revoked(revocation),
            Some(None) if local == CertState::Unknown => CertState::Good,
            _ => local,
        })
    }

    /// [`Pki::revocations`] and those recorded in `shared`, each serial once (this folder's
    /// record first).
    pub fn shared_revocations(
        &self,
        ca: CaRole,
        shared: Option<&dyn crate::shared::SharedRecords>,
    ) -> Result<Vec<(String, Revocation)>, PkiError> {
        let mut all = self.revocations(ca)?;
        if let Some(shared) = shared {
            let label = crate::shared::ca_label(self.generation, ca);
            for (serial, revocation) in shared.revocations(&label)? {
                if !all.iter().any(|(s, _)| s.eq_ignore_ascii_case(&serial)) {
                    all.push((serial, revocation));
                }
            }
            all.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(all)
    }

    /// Every revocation recorded for `ca`, by serial number (hex).
    pub fn revocations(&self, ca: CaRole) -> Result<Vec<(String, Revocation)>, PkiError> {
        let dir = self.db(ca).join("revoked");
        let entries = std::fs::read_dir(&dir).map_err(|e| PkiError::io(&dir, e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| PkiError::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(serial) = name.strip_suffix(".toml") else {
                continue; // temp files of a write in progress
            };
            let text = std::fs::read_to_string(entry.path())
                .map_err(|e| PkiError::io(&entry.path(), e))?;
            let revocation: Revocation = toml::from_str(&text)
                .map_err(|e| PkiError::Config(format!("{}: {e}", entry.path().display())))?;
            out.push((serial.to_string(), revocation));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn db(&self, ca: CaRole) -> PathBuf {
        self.folder.join("db").join(ca.file_stem())
    }
}

/// The signer profile that every validator accepted (see shared/interop.md).
fn signer_extensions(
    urls: &crate::config::Urls,
    subject_key: &spki::SubjectPublicKeyInfoOwned,
    issuer_key: &spki::SubjectPublicKeyInfoOwned,
) -> Result<Vec<x509_cert::ext::Extension>, PkiError> {
    Ok(vec![
        x509::basic_constraints(false, None)?,
        x509::key_usage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)?,
        x509::extended_key_usage(
            false,
            &[
                rfc5280::ID_KP_EMAIL_PROTECTION,
                x509::ID_KP_DOCUMENT_SIGNING,
            ],
        )?,
        x509::subject_key_identifier(subject_key)?,
        x509::authority_key_identifier(issuer_key)?,
        x509::crl_distribution_point(&urls.crl(CaRole::Issuing))?,
        x509::authority_info_access(Some(&urls.ocsp()), Some(&urls.certificate(CaRole::Issuing)))?,
    ])
}

fn signature_valid(cert: &Certificate, issuer: &Certificate) -> bool {
    let Ok(tbs) = cert.tbs_certificate.to_der() else {
        return false;
    };
    inkan_keys::verify_signature(
        &issuer.tbs_certificate.subject_public_key_info,
        &cert.signature_algorithm,
        None,
        &tbs,
        cert.signature.raw_bytes(),
    )
    .is_ok()
}

/// What issuing a service certificate needs: at init, before there is a [`Pki`], and after.
struct ServiceIssuer<'a> {
    folder: &'a Path,
    config: &'a PkiConfig,
    keys: &'a KeyStore,
    generation: u32,
    issuing: &'a Certificate,
}

impl ServiceIssuer<'_> {
    /// `validity`, ending no later than the issuing CA (a certificate outliving its issuer
    /// validates no longer than it; saying so keeps `inkan pki status` and renewal honest).
    fn within_issuer(&self, mut validity: x509_cert::time::Validity) -> x509_cert::time::Validity {
        let issuer_end = self.issuing.tbs_certificate.validity.not_after;
        if validity.not_after.to_system_time() > issuer_end.to_system_time() {
            validity.not_after = issuer_end;
        }
        validity
    }

    fn issue(
        &self,
        role: ServiceRole,
        public_key: &spki::SubjectPublicKeyInfoOwned,
        lifetime: Duration,
    ) -> Result<Certificate, PkiError> {
        let issuer_key = self.keys.load(self.generation, KeyRole::IssuingCa)?;
        let urls = self.config.urls(self.generation);
        let org = &self.config.org;
        let suffix = generation_suffix(self.generation);
        let (common_name, extensions) = match role {
            ServiceRole::Tsa => (
                format!("{org} Time-Stamping Authority{suffix}"),
                vec![
                    x509::basic_constraints(false, None)?,
                    x509::key_usage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)?,
                    // RFC 3161 §2.3: the TSA certificate has exactly this EKU, critical.
                    x509::extended_key_usage(true, &[rfc5280::ID_KP_TIME_STAMPING])?,
                    x509::subject_key_identifier(public_key)?,
                    x509::authority_key_identifier(issuer_key.public_key())?,
                    x509::crl_distribution_point(&urls.crl(CaRole::Issuing))?,
                    x509::authority_info_access(
                        Some(&urls.ocsp()),
                        Some(&urls.certificate(CaRole::Issuing)),
                    )?,
                ],
            ),
            ServiceRole::Ocsp => (
                format!("{org} OCSP Responder{suffix}"),
                vec![
                    x509::basic_constraints(false, None)?,
                    x509::key_usage(KeyUsages::DigitalSignature)?,
                    x509::extended_key_usage(true, &[rfc5280::ID_KP_OCSP_SIGNING])?,
                    x509::ocsp_nocheck()?,
                    x509::subject_key_identifier(public_key)?,
                    x509::authority_key_identifier(issuer_key.public_key())?,
                ],
            ),
            ServiceRole::Witness => (
                format!("{org} 電子契約サービス 立会人署名{suffix}"),
                signer_extensions(&urls, public_key, issuer_key.public_key())?,
            ),
        };
        let cert = CertificateRequest {
            subject: x509::name(org, &common_name)?,
            subject_key: public_key,
            issuer: self.issuing.tbs_certificate.subject.clone(),
            issuer_key: issuer_key.as_ref(),
            serial: x509::random_serial()?,
            validity: self.within_issuer(x509::validity_for(lifetime)?),
            extensions,
        }
        .sign()?;
        record_issued(self.folder, CaRole::Issuing, &cert)?;
        Ok(cert)
    }
}

/// Where `generation`'s files are: the PKI directory for the first, `g{n}/` in it after.
fn generation_folder(dir: &Path, generation: u32) -> PathBuf {
    match generation {
        0 | 1 => dir.to_path_buf(),
        n => dir.join(generation_segment(n)),
    }
}

/// What sets a later generation's certificate names apart: ` G2`, ` G3`, … (nothing for the
/// first, whose names stay as they were).
fn generation_suffix(generation: u32) -> String {
    match generation {
        0 | 1 => String::new(),
        n => format!(" G{n}"),
    }
}

/// Generation `generation` of a PKI in its folder: a self-signed root, an issuing CA, and the
/// TSA, OCSP-responder and witness certificates, each with a new key. Returns the root.
fn create_generation(
    dir: &Path,
    config: &PkiConfig,
    keys: &KeyStore,
    generation: u32,
    tsa_lifetime: Option<Duration>,
) -> Result<Certificate, PkiError> {
    let folder = generation_folder(dir, generation);
    fsutil::create_dir(&folder)?;
    let urls = config.urls(generation);
    let org = config.org.as_str();
    let suffix = generation_suffix(generation);

    // Root CA: self-signed, RSA-3072, 10 years.
    let root_key = keys.generate(generation, KeyRole::Root, KeyKind::Rsa3072)?;
    let root_name = x509::name(org, &format!("{org} Root CA{suffix}"))?;
    let root = CertificateRequest {
        subject: root_name.clone(),
        subject_key: root_key.public_key(),
        issuer: root_name.clone(),
        issuer_key: root_key.as_ref(),
        serial: x509::random_serial()?,
        validity: x509::validity(ROOT_DAYS)?,
        extensions: vec![
            x509::basic_constraints(true, None)?,
            x509::key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)?,
            x509::subject_key_identifier(root_key.public_key())?,
        ],
    }
    .sign()?;

    // Issuing CA: RSA-3072, pathlen 0, revocation via the root's CRL.
    let issuing_key = keys.generate(generation, KeyRole::IssuingCa, KeyKind::Rsa3072)?;
    let issuing_name = x509::name(org, &format!("{org} Issuing CA{suffix}"))?;
    let issuing = CertificateRequest {
        subject: issuing_name,
        subject_key: issuing_key.public_key(),
        issuer: root_name,
        issuer_key: root_key.as_ref(),
        serial: x509::random_serial()?,
        validity: x509::validity(ISSUING_DAYS)?,
        extensions: vec![
            x509::basic_constraints(true, Some(0))?,
            x509::key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)?,
            x509::subject_key_identifier(issuing_key.public_key())?,
            x509::authority_key_identifier(root_key.public_key())?,
            x509::crl_distribution_point(&urls.crl(CaRole::Root))?,
            x509::authority_info_access(None, Some(&urls.certificate(CaRole::Root)))?,
        ],
    }
    .sign()?;

    create_database_folders(&folder)?;
    write_pem(&folder.join("root.pem"), std::slice::from_ref(&root))?;
    write_pem(
        &folder.join("issuing-ca.pem"),
        std::slice::from_ref(&issuing),
    )?;
    write_pem(&folder.join("chain.pem"), &[issuing.clone(), root.clone()])?;
    record_issued(&folder, CaRole::Root, &issuing)?;

    let issuer = ServiceIssuer {
        folder: &folder,
        config,
        keys,
        generation,
        issuing: &issuing,
    };
    for (role, kind) in [
        (ServiceRole::Tsa, KeyKind::Rsa2048),
        (ServiceRole::Ocsp, KeyKind::EcP256),
        (ServiceRole::Witness, KeyKind::Rsa2048),
    ] {
        let key = keys.generate(generation, role.key_role(), kind)?;
        let lifetime = match role {
            ServiceRole::Tsa => tsa_lifetime.unwrap_or(role.lifetime()),
            _ => role.lifetime(),
        };
        let cert = issuer.issue(role, key.public_key(), lifetime)?;
        write_pem(
            &folder.join(format!("{}.pem", role.file_stem())),
            std::slice::from_ref(&cert),
        )?;
    }
    Ok(root)
}

fn record_issued(folder: &Path, ca: CaRole, cert: &Certificate) -> Result<(), PkiError> {
    let serial = serial_hex(&cert.tbs_certificate.serial_number);
    let path = folder
        .join("db")
        .join(ca.file_stem())
        .join("issued")
        .join(format!("{serial}.pem"));
    write_pem(&path, std::slice::from_ref(cert))
}

fn write_pem(path: &Path, certs: &[Certificate]) -> Result<(), PkiError> {
    fsutil::write_atomic(path, x509::to_pem(certs)?.as_bytes())
}

fn read_single_pem(path: &Path) -> Result<Certificate, PkiError> {
    let bytes = std::fs::read(path).map_err(|e| PkiError::io(path, e))?;
    x509::from_pem_or_der(&bytes)?
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::Certificate(format!("{}: no certificate", path.display())))
}

/// The issued and revoked folders of both CAs of the generation in `folder`.
fn create_database_folders(folder: &Path) -> Result<(), PkiError> {
    for ca in ["root", "issuing-ca"] {
        for kind in ["issued", "revoked"] {
            fsutil::create_dir(&folder.join("db").join(ca).join(kind))?;
        }
    }
    Ok(())
}

/// A serial number as lowercase hex without leading zero octets (the database's file names).
pub fn serial_hex(serial: &SerialNumber) -> String {
    let bytes = serial.as_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    hex::encode(&bytes[first..])
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A TSA policy OID for this PKI when none is configured: a random arc under 2.25 (ITU-T X.667
/// UUID arcs, open to anyone). Our OID library limits arcs to 28 bits, so it is a 28-bit random
/// number rather than a full UUID; operators of a real TSA set their own policy OID.
fn random_policy_oid() -> String {
    use rand::RngCore;
    // Our OID library reads arcs of at most 28 bits.
    format!("2.25.{}", rand::rngs::OsRng.next_u32() & 0x0fff_ffff)
}

fn validate_base_url(url: &str) -> Result<(), PkiError> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.is_ascii()
        && !url.contains(char::is_whitespace)
        && url.len() > "http://".len();
    if ok {
        Ok(())
    } else {
        Err(PkiError::Invalid(format!(
            "--base-url must be an http:// or https:// URL, got {url:?}"
        )))
    }
}

fn validate_email(email: &str) -> Result<(), PkiError> {
    let parts: Vec<&str> = email.split('@').collect();
    let ok = parts.len() == 2
        && !parts[0].is_empty()
        && parts[1].contains('.')
        && email.is_ascii()
        && !email.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(PkiError::Invalid(format!(
            "not an email address: {email:?}"
        )))
    }
}

/// Reads a certificate file (PEM or DER).
pub fn read_certificate(path: &Path) -> Result<Certificate, PkiError> {
    read_single_pem(path)
}
