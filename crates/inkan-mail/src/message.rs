//! An outgoing mail and its RFC 5322 form.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde::{Deserialize, Serialize};

use crate::{MailError, Rendered};

/// A name and an email address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Display name; may be empty.
    pub name: String,
    pub email: String,
}

impl Address {
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Address {
        Address {
            name: name.into(),
            email: email.into(),
        }
    }

    fn mailbox(&self) -> Result<Mailbox, MailError> {
        let email = self
            .email
            .trim()
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Address {
                address: self.email.clone(),
                reason: e.to_string(),
            })?;
        let name = header_text(&self.name);
        Ok(Mailbox::new((!name.is_empty()).then_some(name), email))
    }
}

/// One mail ready to send: rendered content, addresses, and the key that makes it unique.
///
/// It is plain serde data so a durable job can hold it and send it again after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub to: Vec<Address>,
    pub from: Address,
    pub reply_to: Option<Address>,
    pub rendered: Rendered,
    /// Stable across retries (e.g. `sign-request:<envelope>:<recipient>:<n>`). The Message-ID is
    /// derived from it, so a mail sent twice after a timeout is recognisably the same mail, and
    /// the .eml folder overwrites instead of duplicating.
    pub idempotency_key: String,
    /// Files sent with the mail (the 電子契約締結証明書 with the completion notice).
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to a mail.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAttachment {
    /// Shown to the reader; may be Japanese (lettre encodes it as RFC 2231 needs).
    pub filename: String,
    /// `application/pdf` …
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for MailAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailAttachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl OutgoingMail {
    /// The Message-ID: `<key@domain of From>`, the key encoded so that any string makes a valid
    /// and distinct id (letters, digits, `-` and `_` stay; every other byte becomes `=XX`).
    pub fn message_id(&self) -> String {
        let domain = self
            .from
            .email
            .rsplit_once('@')
            .map(|(_, d)| d.trim())
            .filter(|d| {
                !d.is_empty()
                    && d.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            })
            .unwrap_or("inkan.invalid");
        format!("<{}@{}>", encode_key(&self.idempotency_key), domain)
    }

    /// The lettre message: multipart/alternative (plain text, then HTML), UTF-8, with the
    /// subject encoded as RFC 2047 by lettre.
    pub fn to_message(&self) -> Result<Message, MailError> {
        if self.to.is_empty() {
            return Err(MailError::Build("the mail has no recipient".into()));
        }
        let mut builder = Message::builder()
            .from(self.from.mailbox()?)
            .subject(header_text(&self.rendered.subject))
            .message_id(Some(self.message_id()));
        for to in &self.to {
            builder = builder.to(to.mailbox()?);
        }
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.mailbox()?);
        }
        let body = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(self.rendered.text.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(self.rendered.html.clone()),
            );
        let body = if self.attachments.is_empty() {
            body
        } else {
            // multipart/mixed: the text first, then each file.
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in &self.attachments {
                let content_type = ContentType::parse(&a.content_type)
                    .map_err(|e| MailError::Build(format!("attachment {:?}: {e}", a.filename)))?;
                mixed = mixed.singlepart(
                    lettre::message::Attachment::new(header_text(&a.filename))
                        .body(a.bytes.clone(), content_type),
                );
            }
            mixed
        };
        builder
            .multipart(body)
            .map_err(|e| MailError::Build(e.to_string()))
    }

    /// The message as RFC 5322 bytes (what an .eml file holds).
    pub fn to_bytes(&self) -> Result<Vec<u8>, MailError> {
        Ok(self.to_message()?.formatted())
    }
}

/// Text for a header (a display name, the subject, a file name) as one line: every control
/// character, line break or bidirectional override becomes a space. Inputs are checked where
/// people type them; this is the last guard, so that no stored value can end a header early or
/// make the message builder fail on it.
fn header_text(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| {
            let unsafe_here = c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if unsafe_here {
                ' '
            } else {
                c
            }
        })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Encodes an idempotency key for a Message-ID or a file name: injective, ASCII, no dots.
pub(crate) fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_injectively() {
        assert_eq!(encode_key("sign:abc-1_2"), "sign=3Aabc-1_2");
        assert_eq!(encode_key("a=3A"), "a=3D3A");
        assert_eq!(encode_key("a.b/c"), "a=2Eb=2Fc");
        assert_ne!(encode_key("a:b"), encode_key("a=3Ab"));
    }

    /// A CR/LF stored before inputs were checked must neither stop the mail nor add a header.
    #[test]
    fn line_breaks_in_names_subjects_and_file_names_never_reach_a_header() {
        let hostile = "山田\r\nBcc: victim@example.com\u{202e}";
        let mail = OutgoingMail {
            to: vec![Address::new(hostile, "vendor@example.jp")],
            from: Address::new("盛岡市\nX-Evil: 1", "keiyaku@example.jp"),
            reply_to: None,
            rendered: crate::Rendered {
                subject: format!("【署名依頼】{hostile}"),
                text: "本文".into(),
                html: "<p>本文</p>".into(),
            },
            idempotency_key: "k".into(),
            attachments: vec![MailAttachment {
                filename: format!("{hostile}.pdf"),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.7".to_vec(),
            }],
        };
        let bytes = mail.to_bytes().expect("the mail is built");
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            let lower = line.to_ascii_lowercase();
            assert!(!lower.starts_with("bcc:"), "{text}");
            assert!(!lower.starts_with("x-evil:"), "{text}");
        }
        assert_eq!(header_text(" a\r\n\tb\u{2028}c "), "a b c");
    }
}
