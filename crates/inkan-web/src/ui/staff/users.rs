//! 職員の管理 (administrators): the users with their roles, an invitation form, and per user
//! a role change, disabling, a reset of their second factor and the invitation mailed again.
//! Also the page an invited user opens from their mail to set a password.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_service::{NewUser, ServiceError, UserLine};
use inkan_store::UserRole;
use maud::{html, Markup};
use serde::Deserialize;

use super::StaffSession;
use crate::extract::{CallerInfo, Path, Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::guard::{caller_ip, login_allowed, too_many};
use crate::ui::i18n::{Lang, Reader};
use crate::ui::layout::{self, expired_form, message_page, page, Frame};

/// Where the page lives.
pub(crate) const PATH: &str = "/app/settings/users";

fn role_name(lang: Lang, role: UserRole) -> &'static str {
    lang.t(role.japanese(), role.english())
}

/// What each role may do, as the invitation form explains it.
fn role_help(lang: Lang, role: UserRole) -> &'static str {
    match role {
        UserRole::Admin => lang.t("すべての操作", "everything"),
        UserRole::SystemAdmin => lang.t(
            "職員・API キー・設定の管理（文書は閲覧できません）",
            "users, API keys and settings (no documents)",
        ),
        UserRole::DocumentManager => lang.t(
            "フォルダのない文書と許されたフォルダの文書の閲覧と送信",
            "reads documents in no folder and in the folders granted to them; prepares and sends",
        ),
        UserRole::DocumentViewer => lang.t(
            "フォルダのない文書と許されたフォルダの文書の閲覧のみ",
            "reads documents in no folder and in the folders granted to them; changes nothing",
        ),
        UserRole::Sender => lang.t(
            "封筒の作成・送信と、自分が送った文書・許されたフォルダの文書の閲覧",
            "prepares and sends; reads what they sent and the folders granted to them",
        ),
    }
}

fn role_select(lang: Lang, id: &str, selected: UserRole) -> Markup {
    html! {
        select #(id) name="role" {
            @for role in UserRole::ALL {
                option value=(role.name()) selected[role == selected] {
                    (role_name(lang, role)) "（" (role_help(lang, role)) "）"
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Shown {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /app/settings/users`.
pub(crate) async fn users_page(
    State(state): State<Shared>,
    session: StaffSession,
    Query(shown): Query<Shown>,
) -> UiResult<Response> {
    let users = state
        .inkan
        .users(&session.staff)
        .await
        .staff_page(session.lang)?;
    Ok(render(
        &session,
        &users,
        shown.done.as_deref(),
        None,
        StatusCode::OK,
    ))
}

fn render(
    session: &StaffSession,
    users: &[UserLine],
    done: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = session.lang;
    let title = lang.t("職員の管理", "Staff users");
    let body = html! {
        section.users {
            h1 { (title) }
            @if let Some(done) = done {
                p.notice #done role="status" { (match done {
                    "invited" => lang.t("招待メールを送りました。", "The invitation was mailed."),
                    _ => lang.t("変更しました。", "Changed."),
                }) }
            }
            @if let Some(e) = error { p.error #users-error role="alert" { (e) } }
            (layout::wide_table(lang.t("職員の一覧", "Staff list"), html! {
            table.list #user-list {
                thead { tr {
                    th { (lang.t("氏名", "Name")) }
                    th { (lang.t("メールアドレス", "Email")) }
                    th { (lang.t("部署", "Department")) }
                    th { (lang.t("状態", "State")) }
                    th { (lang.t("権限", "Role")) }
                    th { span.sr-only { (lang.t("操作", "Actions")) } }
                } }
                tbody {
                    @for u in users {
                        @let base = format!("{PATH}/{}", percent_encode(&u.id));
                        tr data-email=(u.email) {
                            td { (u.name) }
                            td { (u.email) }
                            td { (u.department.as_deref().unwrap_or("")) }
                            td {
                                @if u.disabled { (lang.t("無効", "Disabled")) }
                                @else if !u.has_password { (lang.t("招待中", "Invited")) }
                                @else { (lang.t("有効", "Active")) }
                                @if u.mfa { br; small { (lang.t("多要素認証あり", "Two-step login on")) } }
                            }
                            td {
                                form.inline method="post" action=(format!("{base}/role")) {
                                    input type="hidden" name="csrf" value=(session.csrf);
                                    label.sr-only for=(format!("role-{}", u.id)) { (u.name) " " (lang.t("の権限", "— role")) }
                                    (role_select(lang, &format!("role-{}", u.id), u.role))
                                    button.secondary.change-role type="submit" { (lang.t("変更", "Change")) }
                                }
                            }
                            td.actions {
                                @if !u.disabled {
                                    @if !u.has_password {
                                        form.inline method="post" action=(format!("{base}/invitation")) {
                                            input type="hidden" name="csrf" value=(session.csrf);
                                            button.link.resend type="submit" { (lang.t("招待を再送", "Mail the invitation again")) }
                                        }
                                    }
                                    @if u.mfa {
                                        form.inline method="post" action=(format!("{base}/mfa-reset")) {
                                            input type="hidden" name="csrf" value=(session.csrf);
                                            button.link.reset-mfa type="submit" { (lang.t("多要素認証をリセット", "Reset two-step login")) }
                                        }
                                    }
                                    form.inline method="post" action=(format!("{base}/disable")) {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        button.link.disable type="submit" { (lang.t("無効にする", "Disable")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            }))
            h2 { (lang.t("職員を招待する", "Invite a staff member")) }
            form.grid #invite-form method="post" action=(PATH) {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="name" { (lang.t("氏名", "Name")) " *" }
                input #name name="name" type="text" required maxlength="100";
                label for="email" { (lang.t("メールアドレス", "Email")) " *" }
                input #email name="email" type="email" required maxlength="254";
                label for="department" { (lang.t("部署", "Department")) }
                input #department name="department" type="text" maxlength="100";
                label for="role" { (lang.t("権限", "Role")) }
                (role_select(lang, "role", UserRole::Sender))
                button.primary #invite type="submit" { (lang.t("招待メールを送る", "Send the invitation")) }
            }
        }
    };
    let mut response = layout::html(page(session.frame(title, PATH), body));
    *response.status_mut() = status;
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    csrf: String,
    name: String,
    email: String,
    #[serde(default)]
    department: String,
    role: String,
}

/// `POST /app/settings/users`: an invitation.
pub(crate) async fn invite(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<InviteForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let input = NewUser {
        name: form.name,
        email: form.email,
        department: Some(form.department).filter(|d| !d.trim().is_empty()),
        password: None,
        role: UserRole::from_name(&form.role),
        admin: false,
    };
    let invited = state
        .inkan
        .invite_user(&session.staff, &input, &caller)
        .await;
    after_change(&state, &session, invited.map(|_| "invited")).await
}

/// Back to the list after a change, or the list with the reason it was refused.
async fn after_change(
    state: &Shared,
    session: &StaffSession,
    outcome: Result<&str, ServiceError>,
) -> UiResult<Response> {
    let lang = session.lang;
    match outcome {
        Ok(done) => Ok(Redirect::to(&format!("{PATH}?done={done}")).into_response()),
        Err(ServiceError::Invalid(why) | ServiceError::NotAllowed(why)) => {
            let users = state.inkan.users(&session.staff).await.staff_page(lang)?;
            let status = StatusCode::BAD_REQUEST;
            Ok(render(
                session,
                &users,
                None,
                Some(&lang.pick(&why)),
                status,
            ))
        }
        Err(other) => Err(other).staff_page(lang),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

/// `POST /app/settings/users/{id}/{action}`: `role`, `disable`, `mfa-reset`, `invitation`.
pub(crate) async fn act(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let staff = &session.staff;
    let inkan = &state.inkan;
    let outcome = match action.as_str() {
        "role" => match UserRole::from_name(&form.role) {
            Some(role) => inkan.change_role(staff, &id, role, &caller).await,
            None => Err(ServiceError::Invalid(format!(
                "権限 {:?} はありません (unknown role)",
                form.role
            ))),
        },
        "disable" => inkan.disable_user(staff, &id, &caller).await,
        "mfa-reset" => inkan.reset_mfa(staff, &id, &caller).await,
        "invitation" => inkan.send_invitation(staff, &id, &caller).await,
        _ => Err(ServiceError::NotFound("the page")),
    };
    let done = if action == "invitation" {
        "invited"
    } else {
        "changed"
    };
    after_change(&state, &session, outcome.map(|()| done)).await
}

// ── The invitation link ──────────────────────────────────────────────────────────────────────

fn invitation_frame(lang: Lang, title: &str) -> Frame<'_> {
    Frame::new(lang, title, "/login")
}

/// `GET /invite/{token}`.
pub(crate) async fn invitation_page(
    State(state): State<Shared>,
    Reader(lang): Reader,
    Path(token): Path<String>,
) -> Response {
    invitation_form(&state, lang, &token, StatusCode::OK, None).await
}

async fn invitation_form(
    state: &Shared,
    lang: Lang,
    token: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let invitation = match state.inkan.invitation(token).await {
        Ok(i) => i,
        Err(e) => return gone(lang, e),
    };
    let csrf = state.inkan.csrf_token(&format!("invite:{token}"));
    let title = lang.t("パスワードの設定", "Set your password");
    let body = html! {
        section.login {
            h1 { (title) }
            p { (invitation.organization) " — " (invitation.name) " (" (invitation.email) ")" }
            @if let Some(e) = error { p.error #password-error role="alert" { (e) } }
            form method="post" action=(format!("/invite/{}", percent_encode(token))) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="username" value=(invitation.email) autocomplete="username";
                label for="password" { (lang.t("パスワード（10文字以上）", "Password (10 characters or more)")) }
                input #password type="password" name="password" required minlength="10" autocomplete="new-password"
                    aria-describedby=[error.map(|_| "password-error")];
                label for="again" { (lang.t("もう一度", "Again")) }
                input #again type="password" name="again" required minlength="10" autocomplete="new-password";
                button.primary #set-password type="submit" { (lang.t("設定してログインへ", "Set it and log in")) }
            }
        }
    };
    let mut response = layout::html(page(invitation_frame(lang, title), body));
    *response.status_mut() = status;
    response
}

fn gone(lang: Lang, error: ServiceError) -> Response {
    match error {
        ServiceError::Gone(why) => message_page(
            lang,
            StatusCode::GONE,
            lang.t("この招待は使えません", "This invitation cannot be used"),
            &lang.pick(&why),
        ),
        other => crate::ui::error::UiError {
            lang,
            error: other,
            login: false,
        }
        .into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    password: String,
    again: String,
}

/// `POST /invite/{token}`.
pub(crate) async fn accept(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !login_allowed(&state, caller_ip(&caller)).await {
        return too_many(lang);
    }
    if !state
        .inkan
        .csrf_valid(&format!("invite:{token}"), &form.csrf)
    {
        return expired_form(lang);
    }
    if form.password != form.again {
        let why = lang.t(
            "2つのパスワードが一致しません。",
            "The two passwords differ.",
        );
        return invitation_form(&state, lang, &token, StatusCode::BAD_REQUEST, Some(why)).await;
    }
    match state
        .inkan
        .accept_invitation(&token, &form.password, &caller)
        .await
    {
        Ok(()) => Redirect::to("/login?invited=true").into_response(),
        Err(ServiceError::Invalid(why)) => {
            let why = lang.pick(&why);
            invitation_form(&state, lang, &token, StatusCode::BAD_REQUEST, Some(&why)).await
        }
        Err(other) => gone(lang, other),
    }
}
