//! The frame of every page: head (stylesheet and scripts from `/assets`, no inline code), the
//! top bar with the language switch, and for staff the navigation and logout.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::render::percent_encode;
use crate::ui::assets;
use crate::ui::i18n::Lang;

/// The logged-in staff member, for the navigation.
pub(crate) struct StaffNav<'a> {
    pub organization: &'a str,
    pub name: &'a str,
    pub csrf: &'a str,
    /// Whether to show the administrators' links.
    pub administrator: bool,
    /// Whether to show the links to documents (a system administrator reads none).
    pub reads: bool,
    /// Whether to show the link to a new envelope.
    pub sends: bool,
}

/// What a page needs around its body.
pub(crate) struct Frame<'a> {
    pub lang: Lang,
    pub title: &'a str,
    /// This page's path, where the language switch comes back to.
    pub path: &'a str,
    /// Scripts of `/assets` this page uses.
    pub scripts: &'a [&'a str],
    pub staff: Option<StaffNav<'a>>,
}

impl<'a> Frame<'a> {
    pub fn new(lang: Lang, title: &'a str, path: &'a str) -> Frame<'a> {
        Frame {
            lang,
            title,
            path,
            scripts: &[],
            staff: None,
        }
    }
}

/// A whole page.
pub(crate) fn page(frame: Frame<'_>, body: Markup) -> Markup {
    let lang = frame.lang;
    let switch = format!(
        "/lang?to={}&back={}",
        lang.other().code(),
        percent_encode(frame.path)
    );
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (frame.title) " — Inkan" }
                link rel="stylesheet" href=(assets::url("inkan.css"));
                @for s in frame.scripts {
                    script src=(assets::url(s)) defer {}
                }
            }
            body {
                header.topbar {
                    a.brand href=(if frame.staff.is_some() { "/app" } else { "#" }) { "印鑑 Inkan" }
                    @if let Some(staff) = &frame.staff {
                        nav.staffnav {
                            @if staff.reads {
                                a href="/app" { (lang.t("ダッシュボード", "Dashboard")) }
                            }
                            @if staff.sends {
                                a href="/app/envelopes/new" { (lang.t("新しい封筒", "New envelope")) }
                                a href="/app/templates" { (lang.t("テンプレート", "Templates")) }
                            }
                            a href="/app/counterparties" { (lang.t("取引先", "Counterparties")) }
                            @if staff.reads {
                                a href="/app/documents" { (lang.t("文書管理", "Documents")) }
                            }
                            a href="/app/account/mfa" { (lang.t("多要素認証", "Two-step login")) }
                            a href="/app/account/password" { (lang.t("パスワード", "Password")) }
                            @if staff.administrator {
                                a href="/app/settings/users" { (lang.t("職員", "Users")) }
                                @if staff.reads {
                                    a href="/app/settings/folders" { (lang.t("グループ・フォルダ", "Groups & folders")) }
                                }
                                a href="/app/settings/audit" { (lang.t("操作ログ", "Activity log")) }
                                a href="/app/settings/api-keys" { (lang.t("API キー", "API keys")) }
                                a href="/app/settings/security" { (lang.t("セキュリティ設定", "Security")) }
                            }
                        }
                        span.who { (staff.organization) " " (staff.name) }
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(staff.csrf);
                            button.link type="submit" { (lang.t("ログアウト", "Log out")) }
                        }
                    }
                    a.verify-link href="/verify" { (lang.t("署名の検証", "Verify a PDF")) }
                    a.lang href=(switch) { (lang.t("English", "日本語")) }
                }
                main { (body) }
            }
        }
    }
}

/// A page with a heading and a few lines of text (errors, notices).
pub(crate) fn message_page(lang: Lang, status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! {
        section.message {
            h1 { (title) }
            @for line in text.lines().filter(|l| !l.trim().is_empty()) {
                p { (line) }
            }
        }
    };
    (
        status,
        Html(page(Frame::new(lang, title, "/"), body).into_string()),
    )
        .into_response()
}

/// The page of a link that does not exist (or no longer does), in the seeds' words.
pub(crate) fn not_found(lang: Lang) -> Response {
    message_page(
        lang,
        StatusCode::NOT_FOUND,
        "Not Found",
        lang.t(
            "該当のページが見つかりませんでした。\nご指定のURLが間違いないかご確認ください。",
            "The page you asked for was not found.\nPlease check that the URL is correct.",
        ),
    )
}

/// A refused form: no CSRF token, or not this page's (the page is stale or from elsewhere).
pub(crate) fn expired_form(lang: Lang) -> Response {
    message_page(
        lang,
        StatusCode::FORBIDDEN,
        lang.t("画面の有効期限が切れました", "This page has expired"),
        lang.t(
            "ページを読み込み直してから、もう一度操作してください。",
            "Reload the page and try again.",
        ),
    )
}

/// Renders a page into a response.
/// A table that may be wider than a phone: it scrolls sideways inside its own box (named by
/// `label`, and focusable so that keyboard users can scroll it), never the page (WCAG 1.4.10).
pub(crate) fn wide_table(label: &str, table: Markup) -> Markup {
    maud::html! {
        div.table-scroll tabindex="0" role="region" aria-label=(label) { (table) }
    }
}

pub(crate) fn html(markup: Markup) -> Response {
    Html(markup.into_string()).into_response()
}
