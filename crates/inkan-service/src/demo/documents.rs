//! The demo's contract documents: a 業務委託契約書 and its 請書 as a city writes them, laid out
//! with the system's Japanese font, so the demo shows real Japanese pages, not blank ones.

use inkan_pades::font::Font;
use inkan_pades::render_plain_document;

/// 庁舎清掃業務委託契約書: the city (甲) and the vendor (乙), the articles, the signing block.
const CONTRACT: &[&str] = &[
    "盛岡市（以下「甲」という。）と株式会社盛岡清掃（以下「乙」という。）とは、次の条項により庁舎清掃業務委託契約を締結する。",
    "",
    "第1条（委託業務）甲は、盛岡市役所本庁舎の日常清掃及び定期清掃業務（以下「委託業務」という。）を乙に委託し、乙はこれを受託する。",
    "第2条（履行期間）履行期間は、令和8年4月1日から令和9年3月31日までとする。",
    "第3条（委託料）委託料は、金1,234,567円（うち取引に係る消費税及び地方消費税の額112,233円）とする。",
    "第4条（支払）乙は、毎月の業務完了後、甲の検査を受けたうえで当該月分の委託料を請求し、甲は適法な請求書を受理した日から30日以内に支払うものとする。",
    "第5条（再委託の禁止）乙は、委託業務の全部又は一部を第三者に委託してはならない。ただし、あらかじめ甲の書面による承諾を得たときは、この限りでない。",
    "第6条（秘密の保持）乙は、委託業務の履行に当たり知り得た秘密を他に漏らしてはならない。この契約が終了し、又は解除された後も同様とする。",
    "第7条（個人情報の保護）乙は、委託業務の履行に当たり個人情報を取り扱う場合は、別記「個人情報取扱特記事項」を遵守しなければならない。",
    "第8条（損害賠償）乙は、委託業務の履行に当たり甲又は第三者に損害を与えたときは、その損害を賠償しなければならない。ただし、甲の責めに帰すべき事由による場合は、この限りでない。",
    "第9条（契約の解除）甲は、乙がこの契約に違反したときは、この契約を解除することができる。",
    "第10条（疑義の決定）この契約に定めのない事項又はこの契約に関し疑義が生じた事項については、甲乙協議して定める。",
    "",
    "この契約の締結を証するため、電磁的記録を作成し、甲乙双方が電子署名を施し、各自その電磁的記録を保管する。",
    "",
    "甲　岩手県盛岡市内丸12番2号　盛岡市　盛岡市長",
    "乙　岩手県盛岡市内丸12-2　株式会社盛岡清掃　代表取締役　山田一郎",
];

/// 請書: the vendor alone accepts the order; the 署名日 is written in by the signer.
const UKESHO: &[&str] = &[
    "盛岡市長　様",
    "",
    "次のとおり請け負います。",
    "",
    "件名　　庁舎清掃業務委託",
    "履行場所　盛岡市役所本庁舎",
    "履行期間　令和8年4月1日から令和9年3月31日まで",
    "請負金額　金1,234,567円（うち消費税及び地方消費税の額112,233円）",
    "",
    "上記について、盛岡市契約規則及び仕様書を承諾のうえ、お請けいたします。",
    "",
    "署名日",
    "",
    "所在地　岩手県盛岡市内丸12-2",
    "商号又は名称　株式会社盛岡清掃",
    "代表者職氏名　代表取締役　山田一郎",
];

/// (file name, PDF) of the demo's documents; `None` without a Japanese font (the demo then
/// uses plain sample pages, and says so).
pub(super) fn contract_documents() -> Option<[(&'static str, Vec<u8>); 2]> {
    let font = Font::japanese().ok()?;
    let contract = render_plain_document("庁舎清掃業務委託契約書", CONTRACT, &font).ok()?;
    let ukesho = render_plain_document("請書", UKESHO, &font).ok()?;
    Some([("業務委託契約書.pdf", contract), ("請書.pdf", ukesho)])
}
