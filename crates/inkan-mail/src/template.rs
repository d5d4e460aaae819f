//! The mails Inkan sends, in Japanese and English, as subject + plain text + HTML.
//!
//! Each template is plain data (strings and Unix times, no database types) so the service can
//! store it in a durable job and render it when the job runs. Every template is first turned into
//! one [`Layout`] (greeting, paragraphs, labelled fields, a button, notes); the text and HTML
//! renderers work on that layout only, so HTML escaping happens in exactly one place and the two
//! bodies cannot drift apart.

use serde::{Deserialize, Serialize};

use crate::jst::format_jst;

/// The language of a mail (Japanese by default): the one language type of Inkan.
pub use inkan_domain::Lang;

/// How long the download link of a completion notice stays valid (the seeds promise 14 days);
/// the service sets [`Completed::download_expires_at`] from it.
pub const DOWNLOAD_VALIDITY_DAYS: i64 = 14;

/// 署名依頼: a signer is asked to review and sign an envelope (also used for reminders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRequest {
    /// The sending organisation (組織名), e.g. `南九州市`.
    pub organization: String,
    /// The person or department who sent the envelope (送信者).
    pub sender_name: String,
    /// The signer's name, for the greeting (empty: a neutral greeting).
    pub recipient_name: String,
    /// The envelope's title (封筒名).
    pub envelope_title: String,
    /// The sender's message to the signer, if any (may span lines).
    pub message: Option<String>,
    /// The documents' names, in order.
    pub documents: Vec<String>,
    /// The signing deadline (署名期限), Unix seconds.
    pub deadline: i64,
    /// The signer's personal link to the signing page.
    pub signer_url: String,
    /// The envelope's 管理番号 (empty: none).
    #[serde(default)]
    pub number: String,
    /// The company the contract is with (取引先の商号), when known.
    #[serde(default)]
    pub counterparty: Option<String>,
}

/// 承認依頼: an internal approver is asked to approve an envelope before it goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub organization: String,
    /// Who prepared the envelope and asks for approval (申請者).
    pub requester_name: String,
    pub approver_name: String,
    pub envelope_title: String,
    pub message: Option<String>,
    pub documents: Vec<String>,
    /// The signing deadline the envelope will carry, Unix seconds.
    pub deadline: i64,
    /// The approver's link to the approval page.
    pub approval_url: String,
}

/// 電子署名完了のお知らせ: every party has signed; the documents can be downloaded for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completed {
    pub organization: String,
    pub recipient_name: String,
    pub envelope_title: String,
    pub documents: Vec<String>,
    /// 送り主: who sent the envelope.
    pub sender_name: String,
    /// The download page.
    pub download_url: String,
    /// When the download link stops working, Unix seconds (see [`DOWNLOAD_VALIDITY_DAYS`]).
    pub download_expires_at: i64,
    /// The envelope's 管理番号 (empty: none).
    #[serde(default)]
    pub number: String,
    /// The company the contract is with (取引先の商号), when known.
    #[serde(default)]
    pub counterparty: Option<String>,
}

/// 辞退: a signer declined; sent to the sender and the parties who already took part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declined {
    pub organization: String,
    pub recipient_name: String,
    pub envelope_title: String,
    pub declined_by_name: String,
    pub declined_by_email: String,
    pub reason: String,
    /// Unix seconds.
    pub declined_at: i64,
    /// The envelope's page for the sender's staff, if the recipient has one.
    pub envelope_url: Option<String>,
}

/// 取消: the sender cancelled the envelope; sent to the signers who had been asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelled {
    pub organization: String,
    pub recipient_name: String,
    pub envelope_title: String,
    pub reason: String,
    /// Unix seconds.
    pub cancelled_at: i64,
}

/// 期限切れ: the signing deadline passed before every party signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expired {
    pub organization: String,
    pub recipient_name: String,
    pub envelope_title: String,
    /// The deadline that passed, Unix seconds.
    pub deadline: i64,
    pub envelope_url: Option<String>,
}

/// 要対応: the archive timestamp of a concluded contract could not be renewed, and the proof it
/// carries runs out on `proof_ends_at` unless someone acts (the TSA is down, or its
/// certificate ends too soon). To the envelope's sender, at most once a day per organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRenewalFailing {
    pub organization: String,
    pub recipient_name: String,
    pub envelope_title: String,
    /// 管理番号.
    pub number: String,
    /// When the proof runs out, Unix seconds.
    pub proof_ends_at: i64,
    /// Why the last attempt failed.
    pub reason: String,
    pub envelope_url: String,
}

/// 確認コード: the one-time code that proves a signer receives mail at an address, to open
/// their free account (文書管理). The code itself is in the mail and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCode {
    /// Six digits.
    pub code: String,
    /// How long the code works, in minutes.
    pub valid_minutes: i64,
    /// The page where the code is entered.
    pub account_url: String,
}

/// アカウントのロック: too many wrong codes were entered for the address, so codes are refused
/// for a while; the owner learns of it (and that someone may be trying their address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLocked {
    /// When codes are accepted again, Unix seconds.
    pub until: i64,
    /// Wrong codes entered.
    pub failures: u32,
    pub account_url: String,
}

/// 要対応: five wrong codes (access code or SMS code) locked a signer's link. To the sender,
/// who checks with the signer and sends a fresh link, or learns that someone else holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerLinkLocked {
    pub organization: String,
    /// The sender.
    pub recipient_name: String,
    pub envelope_title: String,
    /// 管理番号.
    pub number: String,
    pub signer_name: String,
    pub signer_email: String,
    /// `アクセスコード` or `SMS認証`, and in English.
    pub method_ja: String,
    pub method_en: String,
    /// When it locked, Unix seconds.
    pub locked_at: i64,
    pub envelope_url: String,
}

/// 招待: an administrator added a staff user, who sets their own password from the link
/// (one use, until it expires).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInvitation {
    /// 組織名 (and department).
    pub organization: String,
    /// Who invited them.
    pub invited_by: String,
    /// The role's name in Japanese and English (`文書管理者`, `Document manager`).
    pub role_ja: String,
    pub role_en: String,
    /// Where the password is set.
    pub invitation_url: String,
    /// When the link stops working, Unix seconds.
    pub expires_at: i64,
}

/// Every mail Inkan sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Template {
    SignatureRequest(SignatureRequest),
    /// The same request again, marked as a reminder (リマインド).
    Reminder(SignatureRequest),
    ApprovalRequest(ApprovalRequest),
    Completed(Completed),
    Declined(Declined),
    Cancelled(Cancelled),
    Expired(Expired),
    AccountCode(AccountCode),
    AccountLocked(AccountLocked),
    ArchiveRenewalFailing(ArchiveRenewalFailing),
    StaffInvitation(StaffInvitation),
    SignerLinkLocked(SignerLinkLocked),
}

/// A rendered mail: what goes into the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    /// One line (user text in it has its line breaks replaced by spaces).
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Template {
    /// Renders the mail in `lang`.
    pub fn render(&self, lang: Lang) -> Rendered {
        render(self, lang)
    }
}

/// Renders `template` in `lang`.
pub fn render(template: &Template, lang: Lang) -> Rendered {
    let layout = layout(template, lang);
    Rendered {
        subject: one_line(&layout.subject),
        text: layout.text(lang),
        html: layout.html(lang),
    }
}

/// The language-independent shape of a mail body.
struct Layout {
    subject: String,
    greeting: String,
    paragraphs: Vec<String>,
    fields: Vec<(&'static str, Value)>,
    button: Option<(&'static str, String)>,
    notes: Vec<String>,
}

enum Value {
    Line(String),
    /// Free text that may span lines (a message, a reason).
    Block(String),
    List(Vec<String>),
}

fn greeting(name: &str, lang: Lang) -> String {
    match (lang, name.trim()) {
        (Lang::Ja, "") => "ご担当者様".to_string(),
        (Lang::Ja, name) => format!("{name} 様"),
        (Lang::En, "") => "Hello,".to_string(),
        (Lang::En, name) => format!("Dear {name},"),
    }
}

fn message_field(message: &Option<String>, lang: Lang) -> Option<(&'static str, Value)> {
    let message = message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())?;
    let label = match lang {
        Lang::Ja => "メッセージ",
        Lang::En => "Message",
    };
    Some((label, Value::Block(message.to_string())))
}

fn layout(template: &Template, lang: Lang) -> Layout {
    match template {
        Template::SignatureRequest(r) => signature_layout(r, false, lang),
        Template::Reminder(r) => signature_layout(r, true, lang),
        Template::ApprovalRequest(a) => approval_layout(a, lang),
        Template::Completed(c) => completed_layout(c, lang),
        Template::Declined(d) => declined_layout(d, lang),
        Template::Cancelled(c) => cancelled_layout(c, lang),
        Template::Expired(e) => expired_layout(e, lang),
        Template::ArchiveRenewalFailing(a) => archive_failing_layout(a, lang),
        Template::AccountCode(a) => account_code_layout(a, lang),
        Template::AccountLocked(a) => account_locked_layout(a, lang),
        Template::StaffInvitation(i) => invitation_layout(i, lang),
        Template::SignerLinkLocked(l) => link_locked_layout(l, lang),
    }
}

fn link_locked_layout(l: &SignerLinkLocked, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    Layout {
        subject: match lang {
            Ja => format!(
                "【要対応】{}: {}様の署名用リンクがロックされました",
                l.envelope_title, l.signer_name
            ),
            En => format!(
                "Action needed: {}'s signing link for {} was locked",
                l.signer_name, l.envelope_title
            ),
        },
        greeting: greeting(&l.recipient_name, lang),
        paragraphs: vec![match lang {
            Ja => format!(
                "「{}」の署名用リンクで、誤った{}が5回入力されたため、リンクをロックしました。\
                 ご本人に確認のうえ、封筒の画面から新しい署名用リンクを送ってください。\
                 ご本人に心当たりがない場合は、第三者がリンクを入手した可能性があります。",
                l.envelope_title, l.method_ja
            ),
            En => format!(
                "Five wrong codes ({}) were entered on a signing link of \u{201c}{}\u{201d}, \
                 so the link is locked. Check with the signer, then send a fresh signing link \
                 from the envelope's page. If the signer did not enter them, someone else may \
                 hold the link.",
                l.method_en, l.envelope_title
            ),
        }],
        fields: vec![
            (
                label(lang, "文書名", "Envelope"),
                Value::Line(l.envelope_title.clone()),
            ),
            (
                label(lang, "管理番号", "Number"),
                Value::Line(l.number.clone()),
            ),
            (
                label(lang, "署名者", "Signer"),
                Value::Line(format!("{} <{}>", l.signer_name, l.signer_email)),
            ),
            (
                label(lang, "確認方法", "Check"),
                Value::Line(match lang {
                    Ja => l.method_ja.clone(),
                    En => l.method_en.clone(),
                }),
            ),
            (
                label(lang, "ロック日時", "Locked at"),
                Value::Line(format_jst(l.locked_at, lang)),
            ),
        ],
        button: Some((
            label(lang, "封筒を確認する", "View the envelope"),
            l.envelope_url.clone(),
        )),
        notes: vec![],
    }
}

fn invitation_layout(i: &StaffInvitation, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    Layout {
        subject: match lang {
            Ja => format!("【Inkan】{}の電子契約サービスへの招待", i.organization),
            En => format!(
                "[Inkan] You are invited to {}'s e-contract service",
                i.organization
            ),
        },
        greeting: greeting("", lang),
        paragraphs: vec![match lang {
            Ja => format!(
                "{}さんが、あなたを{}の職員として電子契約サービス Inkan に登録しました。\
                 次のボタンからパスワードを設定すると、ログインできるようになります。",
                i.invited_by, i.organization
            ),
            En => format!(
                "{} added you as a staff member of {} to Inkan, its e-contract service. \
                 Set your password from the button below to log in.",
                i.invited_by, i.organization
            ),
        }],
        fields: vec![
            (
                label(lang, "権限", "Role"),
                Value::Line(match lang {
                    Ja => i.role_ja.clone(),
                    En => i.role_en.clone(),
                }),
            ),
            (
                label(lang, "有効期限", "Valid until"),
                Value::Line(crate::jst::format_jst(i.expires_at, lang)),
            ),
        ],
        button: Some((
            label(lang, "パスワードを設定する", "Set your password"),
            i.invitation_url.clone(),
        )),
        notes: vec![match lang {
            Ja => {
                "このリンクは一度だけ使えます。心当たりがない場合は、このメールを破棄してください。"
                    .to_string()
            }
            En => "The link works once. If you did not expect this mail, ignore it.".to_string(),
        }],
    }
}

fn signature_layout(r: &SignatureRequest, reminder: bool, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    let subject = match (lang, reminder) {
        (Ja, false) => format!(
            "【{}】 様より{}への署名依頼が届いています",
            r.organization, r.envelope_title
        ),
        (Ja, true) => format!(
            "【リマインド】【{}】 様より{}への署名依頼が届いています",
            r.organization, r.envelope_title
        ),
        (En, false) => format!(
            "[{}] {} — please review and sign",
            r.organization, r.envelope_title
        ),
        (En, true) => format!(
            "Reminder: [{}] {} — please review and sign",
            r.organization, r.envelope_title
        ),
    };
    let deadline = format_jst(r.deadline, lang);
    let mut paragraphs = match lang {
        Ja => vec![format!(
            "{} 様より「{}」への署名依頼が届いています。",
            r.organization, r.envelope_title
        )],
        En => vec![format!(
            "{} asks you to review and sign \u{201c}{}\u{201d}.",
            r.organization, r.envelope_title
        )],
    };
    if reminder {
        paragraphs.insert(
            0,
            match lang {
                Ja => "署名がまだ完了していないため、再度お知らせします。".to_string(),
                En => {
                    "This is a reminder: the documents below are still waiting for your signature."
                        .to_string()
                }
            },
        );
    }
    paragraphs.push(match lang {
        Ja => format!("下のボタンから文書を確認し、署名期限（{deadline}）までに署名してください。"),
        En => format!(
            "Please open the documents with the button below and sign them before {deadline}."
        ),
    });
    let mut fields = vec![(
        label(lang, "封筒", "Envelope"),
        Value::Line(r.envelope_title.clone()),
    )];
    fields.extend(contract_fields(&r.number, &r.counterparty, lang));
    fields.extend([(
        label(lang, "送信者", "Sender"),
        Value::Line(sender_line(&r.sender_name, &r.organization, lang)),
    )]);
    fields.extend(message_field(&r.message, lang));
    fields.push((
        label(lang, "文書", "Documents"),
        Value::List(r.documents.clone()),
    ));
    fields.push((
        label(lang, "署名期限", "Signing deadline"),
        Value::Line(deadline),
    ));
    Layout {
        subject,
        greeting: greeting(&r.recipient_name, lang),
        paragraphs,
        fields,
        button: Some((label(lang, "文書を確認する", "Review the documents"), r.signer_url.clone())),
        notes: vec![match lang {
            Ja => "このリンクはあなた専用です。他の方に転送しないでください。署名の前に文書をダウンロードして社内で確認することもできます。".to_string(),
            En => "This link is yours alone: please do not forward it. \
                   You can download the documents for internal review before signing."
                .to_string(),
        }],
    }
}

fn approval_layout(a: &ApprovalRequest, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    let deadline = format_jst(a.deadline, lang);
    let mut fields = vec![
        (
            label(lang, "封筒", "Envelope"),
            Value::Line(a.envelope_title.clone()),
        ),
        (
            label(lang, "申請者", "Requested by"),
            Value::Line(sender_line(&a.requester_name, &a.organization, lang)),
        ),
    ];
    fields.extend(message_field(&a.message, lang));
    fields.push((
        label(lang, "文書", "Documents"),
        Value::List(a.documents.clone()),
    ));
    fields.push((
        label(lang, "署名期限", "Signing deadline"),
        Value::Line(deadline),
    ));
    Layout {
        subject: match lang {
            Ja => format!("【{}】 {}の承認依頼が届いています", a.organization, a.envelope_title),
            En => format!("[{}] {} — approval requested", a.organization, a.envelope_title),
        },
        greeting: greeting(&a.approver_name, lang),
        paragraphs: vec![match lang {
            Ja => format!(
                "{} さんより「{}」の送信前の承認依頼が届いています。内容を確認し、承認または差し戻しをしてください。",
                a.requester_name, a.envelope_title
            ),
            En => format!(
                "{} asks you to approve \u{201c}{}\u{201d} before it is sent for signature. Please review it, then approve or send it back.",
                a.requester_name, a.envelope_title
            ),
        }],
        fields,
        button: Some((label(lang, "内容を確認して承認する", "Review and approve"), a.approval_url.clone())),
        notes: vec![],
    }
}

fn completed_layout(c: &Completed, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    let expiry = format_jst(c.download_expires_at, lang);
    Layout {
        subject: match lang {
            Ja => format!("電子署名完了のお知らせ（{}）", c.envelope_title),
            En => format!("Signing completed: {}", c.envelope_title),
        },
        greeting: greeting(&c.recipient_name, lang),
        paragraphs: vec![match lang {
            Ja => "すべての手続きが完了しました。\
                   署名完了文書ダウンロード画面より、ダウンロードしてください。"
                .to_string(),
            En => "Every party has signed. \
                   Download the signed documents from the download page."
                .to_string(),
        }],
        fields: [(label(lang, "封筒", "Envelope"), Value::Line(c.envelope_title.clone()))]
            .into_iter()
            .chain(contract_fields(&c.number, &c.counterparty, lang))
            .chain([
            (label(lang, "文書", "Documents"), Value::List(c.documents.clone())),
            (label(lang, "送り主", "Sender"), Value::Line(sender_line(&c.sender_name, &c.organization, lang))),
            // The briefing's 「ダウンロード有効期間：14日間」, with the day it ends.
            (label(lang, "ダウンロード有効期間", "Download period"), Value::Line(match lang {
                Ja => format!("{DOWNLOAD_VALIDITY_DAYS}日間（{expiry}まで）"),
                En => format!("{DOWNLOAD_VALIDITY_DAYS} days (until {expiry})"),
            })),
        ])
            .collect(),
        button: Some((label(lang, "ダウンロード", "Download"), c.download_url.clone())),
        notes: vec![match lang {
            Ja => format!(
                "ダウンロードの有効期限は{expiry}までです。期限を過ぎるとダウンロードできなくなりますので、\
                 必ず期限内にダウンロードして保管してください。"
            ),
            En => format!(
                "The download link works until {expiry}; after that it no longer opens. \
                 Please download and keep the documents before then."
            ),
        }, match lang {
            Ja => "期限後も、このメールアドレスで無料の署名者アカウントを登録すると、\
                   「文書管理」から締結済みの文書と電子契約締結証明書をいつでもダウンロードできます。"
                .to_string(),
            En => "After that, register a free signer account with this email address to download \
                   the concluded documents and the certificate of conclusion from your library at any time."
                .to_string(),
        }],
    }
}

fn account_code_layout(a: &AccountCode, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    Layout {
        subject: match lang {
            Ja => format!("【Inkan】確認コード {}", a.code),
            En => format!("[Inkan] Your confirmation code {}", a.code),
        },
        greeting: greeting("", lang),
        paragraphs: vec![match lang {
            Ja => "署名者アカウント（文書管理）の登録・ログインのための確認コードです。\
                   画面に次のコードを入力してください。"
                .to_string(),
            En => "Here is the code to register or sign in to your signer account (your library \
                   of concluded documents). Enter it on the page."
                .to_string(),
        }],
        fields: vec![
            (label(lang, "確認コード", "Confirmation code"), Value::Line(a.code.clone())),
            (
                label(lang, "有効期限", "Valid for"),
                Value::Line(match lang {
                    Ja => format!("{}分間", a.valid_minutes),
                    En => format!("{} minutes", a.valid_minutes),
                }),
            ),
        ],
        button: Some((label(lang, "コードを入力する", "Enter the code"), a.account_url.clone())),
        notes: vec![match lang {
            Ja => "このメールに心当たりがない場合は、破棄してください。コードを他の人に教えないでください。"
                .to_string(),
            En => "If you did not ask for this code, ignore this mail. Never share the code.".to_string(),
        }],
    }
}

fn account_locked_layout(a: &AccountLocked, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    Layout {
        subject: match lang {
            Ja => "【Inkan】確認コードの入力を一時的に停止しました".to_string(),
            En => "[Inkan] Confirmation codes are paused for your address".to_string(),
        },
        greeting: greeting("", lang),
        paragraphs: vec![match lang {
            Ja => format!(
                "このメールアドレスの署名者アカウントに、誤った確認コードが {} 回入力されました。\
                 安全のため、次の日時まで確認コードを受け付けません。",
                a.failures
            ),
            En => format!(
                "A wrong confirmation code was entered {} times for the signer account of this \
                 address. To keep it safe, codes are not accepted until the time below.",
                a.failures
            ),
        }],
        fields: vec![(
            label(lang, "再開日時", "Codes accepted again"),
            Value::Line(format_jst(a.until, lang)),
        )],
        button: Some((label(lang, "文書管理を開く", "Open your library"), a.account_url.clone())),
        notes: vec![match lang {
            Ja => "ご自身の操作でない場合、第三者がログインを試みた可能性があります。コードは誰にも教えないでください。"
                .to_string(),
            En => "If this was not you, someone may have tried to sign in with your address. Never share a code."
                .to_string(),
        }],
    }
}

fn declined_layout(d: &Declined, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    let mut notes = vec![];
    if d.envelope_url.is_none() {
        notes.push(match lang {
            Ja => "この封筒の手続きは終了しました。".to_string(),
            En => "This envelope is closed.".to_string(),
        });
    }
    Layout {
        subject: match lang {
            Ja => format!(
                "【{}】 {}の署名が辞退されました",
                d.organization, d.envelope_title
            ),
            En => format!(
                "[{}] {} — signing declined",
                d.organization, d.envelope_title
            ),
        },
        greeting: greeting(&d.recipient_name, lang),
        paragraphs: vec![match lang {
            Ja => format!(
                "{} 様が「{}」への署名を辞退しました。",
                d.declined_by_name, d.envelope_title
            ),
            En => format!(
                "{} declined to sign \u{201c}{}\u{201d}.",
                d.declined_by_name, d.envelope_title
            ),
        }],
        fields: vec![
            (
                label(lang, "封筒", "Envelope"),
                Value::Line(d.envelope_title.clone()),
            ),
            (
                label(lang, "辞退した方", "Declined by"),
                Value::Line(format!("{} <{}>", d.declined_by_name, d.declined_by_email)),
            ),
            (
                label(lang, "辞退日時", "Declined at"),
                Value::Line(format_jst(d.declined_at, lang)),
            ),
            (
                label(lang, "辞退理由", "Reason"),
                Value::Block(d.reason.clone()),
            ),
        ],
        button: d
            .envelope_url
            .clone()
            .map(|url| (label(lang, "封筒を確認する", "View the envelope"), url)),
        notes,
    }
}

fn cancelled_layout(c: &Cancelled, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    Layout {
        subject: match lang {
            Ja => format!(
                "【{}】 {}の署名依頼が取り消されました",
                c.organization, c.envelope_title
            ),
            En => format!(
                "[{}] {} — signature request cancelled",
                c.organization, c.envelope_title
            ),
        },
        greeting: greeting(&c.recipient_name, lang),
        paragraphs: vec![match lang {
            Ja => format!(
                "{} 様より届いていた「{}」への署名依頼は取り消されました。署名の必要はありません。",
                c.organization, c.envelope_title
            ),
            En => format!(
                "{} cancelled its request to sign \u{201c}{}\u{201d}. You do not need to sign it.",
                c.organization, c.envelope_title
            ),
        }],
        fields: vec![
            (
                label(lang, "封筒", "Envelope"),
                Value::Line(c.envelope_title.clone()),
            ),
            (
                label(lang, "取消日時", "Cancelled at"),
                Value::Line(format_jst(c.cancelled_at, lang)),
            ),
            (
                label(lang, "取消理由", "Reason"),
                Value::Block(c.reason.clone()),
            ),
        ],
        button: None,
        notes: vec![],
    }
}

fn archive_failing_layout(a: &ArchiveRenewalFailing, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    Layout {
        subject: match lang {
            Ja => format!(
                "【要対応】{}のアーカイブタイムスタンプを更新できません",
                a.envelope_title
            ),
            En => format!(
                "Action needed: the archive timestamp of {} cannot be renewed",
                a.envelope_title
            ),
        },
        greeting: greeting(&a.recipient_name, lang),
        paragraphs: vec![match lang {
            Ja => format!(
                "締結済みの「{}」の長期署名を延長する新しいタイムスタンプを取得できませんでした。\
                 自動で再試行していますが、下記の期限までに更新できないと、その後は署名の有効性を\
                 文書だけで証明できなくなります。システム管理者にご連絡ください。",
                a.envelope_title
            ),
            En => format!(
                "The new timestamp that extends the long-term signatures of the concluded \
                 \u{201c}{}\u{201d} could not be obtained. It is retried automatically, but unless \
                 it is renewed before the date below, the document alone will no longer prove its \
                 signatures valid. Please tell the system administrator.",
                a.envelope_title
            ),
        }],
        fields: vec![
            (
                label(lang, "文書名", "Envelope"),
                Value::Line(a.envelope_title.clone()),
            ),
            (
                label(lang, "管理番号", "Number"),
                Value::Line(a.number.clone()),
            ),
            (
                label(lang, "更新期限", "Renew before"),
                Value::Line(format_jst(a.proof_ends_at, lang)),
            ),
            (
                label(lang, "原因", "Reason"),
                Value::Block(a.reason.clone()),
            ),
        ],
        button: Some((
            label(lang, "封筒を確認する", "View the envelope"),
            a.envelope_url.clone(),
        )),
        notes: vec![match lang {
            Ja => "TSA (タイムスタンプ局) の稼働状況と証明書の期限を確認してください \
                   (inkan pki status、inkan jobs list)。"
                .to_string(),
            En => "Check that the TSA answers and when its certificate ends \
                   (inkan pki status, inkan jobs list)."
                .to_string(),
        }],
    }
}

fn expired_layout(e: &Expired, lang: Lang) -> Layout {
    use Lang::{En, Ja};
    Layout {
        subject: match lang {
            Ja => format!(
                "【{}】 {}の署名期限が切れました",
                e.organization, e.envelope_title
            ),
            En => format!(
                "[{}] {} — signing deadline passed",
                e.organization, e.envelope_title
            ),
        },
        greeting: greeting(&e.recipient_name, lang),
        paragraphs: vec![match lang {
            Ja => format!(
                "「{}」は署名期限までにすべての署名が完了しなかったため、期限切れとなりました。",
                e.envelope_title
            ),
            En => format!(
                "\u{201c}{}\u{201d} expired: not every party signed before the deadline.",
                e.envelope_title
            ),
        }],
        fields: vec![
            (
                label(lang, "封筒", "Envelope"),
                Value::Line(e.envelope_title.clone()),
            ),
            (
                label(lang, "署名期限", "Signing deadline"),
                Value::Line(format_jst(e.deadline, lang)),
            ),
        ],
        button: e
            .envelope_url
            .clone()
            .map(|url| (label(lang, "封筒を確認する", "View the envelope"), url)),
        notes: vec![match lang {
            Ja => format!(
                "署名が必要な場合は、{} の担当者にお問い合わせください。",
                e.organization
            ),
            En => format!(
                "If the contract still needs signing, please contact {}.",
                e.organization
            ),
        }],
    }
}

fn label(lang: Lang, ja: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

/// `山田 太郎（南九州市）` / `山田 太郎 (南九州市)`, or the organisation alone when the name is
/// empty or the same.
/// 管理番号 and 取引先, where the envelope has them: what a clerk files the mail under.
fn contract_fields(
    number: &str,
    counterparty: &Option<String>,
    lang: Lang,
) -> Vec<(&'static str, Value)> {
    let mut fields = Vec::new();
    if !number.trim().is_empty() {
        fields.push((
            label(lang, "管理番号", "Reference number"),
            Value::Line(number.to_string()),
        ));
    }
    if let Some(company) = counterparty.as_ref().filter(|c| !c.trim().is_empty()) {
        fields.push((
            label(lang, "取引先", "Counterparty"),
            Value::Line(company.clone()),
        ));
    }
    fields
}

fn sender_line(name: &str, organization: &str, lang: Lang) -> String {
    let name = name.trim();
    if name.is_empty() || name == organization.trim() {
        organization.to_string()
    } else if lang == Lang::Ja {
        format!("{name}（{organization}）")
    } else {
        format!("{name} ({organization})")
    }
}

/// Subjects are one header line: user text with line breaks or other controls must not break
/// it. Each run of control characters becomes one space.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars() {
        if c.is_control() {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

const FOOTER_JA: &str =
    "このメールは Inkan（電子契約サービス）から自動送信されています。お心当たりのない場合は破棄してください。";
const FOOTER_EN: &str =
    "This message was sent automatically by Inkan, an electronic contract service. If you did not expect it, please ignore it.";

impl Layout {
    fn footer(lang: Lang) -> &'static str {
        match lang {
            Lang::Ja => FOOTER_JA,
            Lang::En => FOOTER_EN,
        }
    }

    fn text(&self, lang: Lang) -> String {
        let mut out = String::new();
        out.push_str(&self.greeting);
        out.push_str("\n\n");
        for p in &self.paragraphs {
            out.push_str(p);
            out.push_str("\n\n");
        }
        let (colon, bullet) = match lang {
            Lang::Ja => ("：", "・"),
            Lang::En => (":", "- "),
        };
        for (label, value) in &self.fields {
            match value {
                Value::Line(v) if lang == Lang::En => out.push_str(&format!("{label}: {v}\n")),
                Value::Line(v) => out.push_str(&format!("{label}{colon}{v}\n")),
                Value::Block(v) => {
                    out.push_str(&format!("{label}{colon}\n"));
                    for line in v.lines() {
                        out.push_str(&format!("  {line}\n"));
                    }
                }
                Value::List(items) => {
                    out.push_str(&format!("{label}{colon}\n"));
                    for item in items {
                        out.push_str(&format!("{bullet}{item}\n"));
                    }
                }
            }
        }
        if let Some((label, url)) = &self.button {
            out.push_str(&format!("\n{label}{colon}\n{url}\n"));
        }
        for note in &self.notes {
            out.push('\n');
            out.push_str(note);
            out.push('\n');
        }
        out.push_str("\n--\n");
        out.push_str(Self::footer(lang));
        out.push('\n');
        out
    }

    fn html(&self, lang: Lang) -> String {
        let lang_tag = match lang {
            Lang::Ja => "ja",
            Lang::En => "en",
        };
        let mut out = String::new();
        out.push_str(&format!(
            "<!DOCTYPE html>\n<html lang=\"{lang_tag}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n</head>\n",
            escape(&self.subject)
        ));
        out.push_str("<body style=\"margin:0;padding:24px;background:#f4f5f7;font-family:sans-serif;color:#222;line-height:1.6\">\n");
        out.push_str("<div style=\"max-width:600px;margin:0 auto;background:#fff;padding:24px;border-radius:6px\">\n");
        out.push_str(&format!("<p>{}</p>\n", escape(&self.greeting)));
        for p in &self.paragraphs {
            out.push_str(&format!("<p>{}</p>\n", escape_lines(p)));
        }
        if let Some((label, url)) = &self.button {
            out.push_str(&format!(
                "<p style=\"text-align:center;margin:24px 0\"><a href=\"{}\" style=\"display:inline-block;padding:12px 28px;background:#1a5fb4;color:#fff;text-decoration:none;border-radius:4px;font-weight:bold\">{}</a></p>\n",
                escape(url),
                escape(label)
            ));
        }
        out.push_str("<table style=\"border-collapse:collapse;width:100%\">\n");
        for (label, value) in &self.fields {
            let value = match value {
                Value::Line(v) => escape(v),
                Value::Block(v) => escape_lines(v),
                Value::List(items) => {
                    let mut list = String::from("<ul style=\"margin:0;padding-left:1.2em\">");
                    for item in items {
                        list.push_str(&format!("<li>{}</li>", escape(item)));
                    }
                    list.push_str("</ul>");
                    list
                }
            };
            out.push_str(&format!(
                "<tr><th style=\"text-align:left;vertical-align:top;padding:6px 12px 6px 0;white-space:nowrap;color:#555\">{}</th><td style=\"padding:6px 0\">{}</td></tr>\n",
                escape(label),
                value
            ));
        }
        out.push_str("</table>\n");
        if let Some((_, url)) = &self.button {
            // Some mail clients strip buttons: the address itself, as text, always works.
            out.push_str(&format!(
                "<p style=\"font-size:12px;color:#555;word-break:break-all\">{}</p>\n",
                escape(url)
            ));
        }
        for note in &self.notes {
            out.push_str(&format!(
                "<p style=\"font-size:13px\">{}</p>\n",
                escape_lines(note)
            ));
        }
        out.push_str(&format!(
            "<hr style=\"border:none;border-top:1px solid #ddd\">\n<p style=\"font-size:12px;color:#777\">{}</p>\n",
            escape(Self::footer(lang))
        ));
        out.push_str("</div>\n</body>\n</html>\n");
        out
    }
}

/// HTML-escapes text for element content and double- or single-quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes, then keeps the author's line breaks.
fn escape_lines(s: &str) -> String {
    s.lines().map(escape).collect::<Vec<_>>().join("<br>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn subjects_stay_on_one_line() {
        assert_eq!(one_line("a\r\nb\tc"), "a b c");
    }

    #[test]
    fn sender_line_avoids_repeating_the_organisation() {
        assert_eq!(sender_line("南九州市", "南九州市", Lang::Ja), "南九州市");
        assert_eq!(sender_line(" ", "南九州市", Lang::En), "南九州市");
        assert_eq!(
            sender_line("契約検査課", "南九州市", Lang::Ja),
            "契約検査課（南九州市）"
        );
        assert_eq!(
            sender_line("Contracts", "Morioka", Lang::En),
            "Contracts (Morioka)"
        );
    }
}
