//! `inkan demo`: a sample city, vendor and sent envelope, so a new installation has something to
//! click through at once.

mod documents;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use inkan_domain::{DateFormat, FieldKind, Role, SignatureMethod};

use crate::{
    Caller, CounterpartyInput, Inkan, MetadataInput, NewDocument, NewEnvelope, NewField,
    NewOrganization, NewRecipient, PlacementView, Result,
};

/// What the demo created.
#[derive(Debug, Clone)]
pub struct DemoSeed {
    pub organization_id: String,
    pub api_key: String,
    /// The administrator's login for the staff pages (`/login`).
    pub admin_email: String,
    pub admin_password: String,
    pub envelope_id: String,
    pub envelope_title: String,
    /// (name, email, signer URL) of each recipient with a link.
    pub links: Vec<(String, String, String)>,
}

pub async fn seed(inkan: &Inkan) -> Result<DemoSeed> {
    let caller = Caller::default();
    let admin_email = format!(
        "keiyaku+{}@city.morioka.example.jp",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    // A fresh password per demo, printed once: never a default one.
    let admin_password = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
    let org = inkan
        .create_organization(&NewOrganization {
            name: "盛岡市".into(),
            department: Some("財政部契約検査課".into()),
            admin_name: "契約 花子".into(),
            admin_email: admin_email.clone(),
            admin_password: Some(admin_password.clone()),
        })
        .await?;
    let staff = inkan
        .authenticate_api_key(&org.api_key, &Default::default())
        .await?;
    let vendor_email = "taro.yamada@seisou.example.co.jp";
    let counterparty = inkan
        .register_counterparty(
            &staff,
            &CounterpartyInput {
                address: "岩手県盛岡市内丸12-2".into(),
                trade_name: "株式会社盛岡清掃".into(),
                representative: "代表取締役 山田一郎".into(),
                signatory_title: "代表取締役".into(),
                signatory_name: "山田太郎".into(),
                signatory_email: vendor_email.into(),
                clerk_department: "総務部".into(),
                clerk_title: "主任".into(),
                clerk_name: "佐藤花子".into(),
                clerk_phone: "019-000-0000".into(),
                clerk_email: None,
                notified_on: Some("2026-04-01".into()),
            },
            &caller,
        )
        .await?;
    // Real Japanese pages when the system has a Japanese font; blank sample pages otherwise.
    let (files, date_at) = match documents::contract_documents() {
        // 署名日 beside its caption on the 請書.
        Some([contract, ukesho]) => ([contract, ukesho], (1, "請書.pdf", 96.0, 536.0)),
        None => {
            let sample = inkan_pdf::sample::sample_pdf(2);
            (
                [("業務委託契約書.pdf", sample.clone()), ("請書.pdf", sample)],
                (2, "業務委託契約書.pdf", 72.0, 600.0),
            )
        }
    };
    let (date_page, date_document, date_x, date_y) = date_at;
    let date_field = NewField {
        recipient: "vendor".into(),
        kind: FieldKind::Date,
        label: "署名日".into(),
        required: true,
        placement: Some(PlacementView {
            page: date_page,
            x: date_x,
            y: date_y,
            width: 160.0,
            height: 24.0,
        }),
        date_format: DateFormat::Wareki,
    };
    let mut date_field = Some(date_field);
    let documents: Vec<NewDocument> = files
        .into_iter()
        .map(|(name, pdf)| NewDocument {
            name: name.into(),
            content_base64: STANDARD.encode(pdf),
            // The 請書 is the vendor's alone.
            signers: (name == "請書.pdf").then(|| vec!["vendor".into()]),
            fields: if name == date_document {
                date_field.take().into_iter().collect()
            } else {
                vec![]
            },
            metadata: MetadataInput {
                date: Some(crate::japan::date_jst(inkan.now())),
                amount: Some("1,234,567円".into()),
                counterparty: None,
                kind: None,
            },
        })
        .collect();
    let envelope = inkan
        .create_envelope(
            &staff,
            &NewEnvelope {
                number: "R8-契約-0001".into(),
                title: "庁舎清掃業務委託".into(),
                message: "ご確認のうえ、署名をお願いいたします。".into(),
                deadline: inkan.now() + 7 * 86_400,
                counterparty: Some(counterparty.id),
                recipients: vec![
                    NewRecipient {
                        key: "vendor".into(),
                        name: "山田太郎".into(),
                        email: vendor_email.into(),
                        role: Role::Signer,
                        order: 1,
                        method: SignatureMethod::Witness,
                        access_code: None,
                        sms_phone: None,
                    },
                    NewRecipient {
                        key: "city".into(),
                        name: "盛岡市長".into(),
                        email: "shicho@city.morioka.example.jp".into(),
                        role: Role::Signer,
                        order: 2,
                        method: SignatureMethod::Witness,
                        access_code: None,
                        sms_phone: None,
                    },
                ],
                documents,
                attachments: vec![],
                folder: None,
            },
            &caller,
        )
        .await?;
    inkan.send(&staff, &envelope.id, &caller).await?;
    let links = inkan.recipient_links(&staff, &envelope.id).await?;
    Ok(DemoSeed {
        organization_id: org.organization_id,
        api_key: org.api_key,
        admin_email,
        admin_password,
        envelope_id: envelope.id,
        envelope_title: envelope.title,
        links,
    })
}
