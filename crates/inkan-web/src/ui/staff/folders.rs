//! グループとフォルダ (administrators who read every document): the groups with their members,
//! the folder tree with the groups each folder is granted to, and whether every envelope must
//! go into a folder. A refused change (a move under itself, a folder not empty, a name taken)
//! comes back on the page with its reason.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use inkan_domain::{FolderId, GroupId};
use inkan_service::{FolderInput, FolderView, GroupInput, GroupView, ServiceError, UserLine};
use maud::{html, Markup};
use serde::Deserialize;

use super::{MultiForm, StaffSession};
use crate::extract::{CallerInfo, Path, Query, Shared};
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Lang;
use crate::ui::layout::{self, expired_form, page};

/// Where the page lives.
pub(crate) const PATH: &str = "/app/settings/folders";

#[derive(Debug, Deserialize)]
pub(crate) struct Shown {
    #[serde(default)]
    saved: bool,
}

/// What the page shows.
struct FoldersView {
    groups: Vec<GroupView>,
    folders: Vec<FolderView>,
    users: Vec<UserLine>,
    required: bool,
}

impl FoldersView {
    async fn load(state: &Shared, session: &StaffSession) -> Result<FoldersView, ServiceError> {
        let staff = &session.staff;
        Ok(FoldersView {
            groups: state.inkan.groups(staff).await?,
            folders: state.inkan.choosable_folders(staff).await?,
            users: state.inkan.users(staff).await?,
            required: state.inkan.folder_required(staff).await?,
        })
    }

    fn user_name(&self, id: &inkan_domain::UserId) -> &str {
        let id = id.to_string();
        self.users
            .iter()
            .find(|u| u.id == id)
            .map_or("?", |u| u.name.as_str())
    }

    fn group_name(&self, id: &GroupId) -> &str {
        self.groups
            .iter()
            .find(|g| g.id == *id)
            .map_or("?", |g| g.name.as_str())
    }

    /// Checkboxes of the organization's active users, `checked` ones ticked.
    fn member_boxes(&self, lang: Lang, prefix: &str, checked: &[inkan_domain::UserId]) -> Markup {
        html! {
            fieldset.choices {
                legend { (lang.t("メンバー", "Members")) }
                @for u in self.users.iter().filter(|u| !u.disabled) {
                    @let id = format!("{prefix}-{}", u.id);
                    label.check for=(id) {
                        input #(id) type="checkbox" name="members" value=(u.id)
                            checked[checked.iter().any(|c| c.to_string() == u.id)];
                        " " (u.name)
                    }
                }
            }
        }
    }

    /// Checkboxes of the groups, `checked` ones ticked.
    fn grant_boxes(&self, lang: Lang, prefix: &str, checked: &[GroupId]) -> Markup {
        html! {
            fieldset.choices {
                legend { (lang.t("閲覧できるグループ", "Groups that read it")) }
                @if self.groups.is_empty() { p.hint { (lang.t("グループがまだありません。", "No group yet.")) } }
                @for g in &self.groups {
                    @let id = format!("{prefix}-{}", g.id);
                    label.check for=(id) {
                        input #(id) type="checkbox" name="grants" value=(g.id.to_string()) checked[checked.contains(&g.id)];
                        " " (g.name)
                    }
                }
            }
        }
    }

    /// A select of the folders a folder may go under (`except` and its subtree left out).
    fn parent_select(
        &self,
        lang: Lang,
        id: &str,
        except: Option<&FolderView>,
        selected: Option<FolderId>,
    ) -> Markup {
        html! {
            select #(id) name="parent" {
                option value="" { (lang.t("（最上位）", "(top level)")) }
                @for f in &self.folders {
                    @if except.is_none_or(|x| !(f.path == x.path || f.path.starts_with(&format!("{} / ", x.path)))) {
                        option value=(f.id.to_string()) selected[selected == Some(f.id)] { (f.path) }
                    }
                }
            }
        }
    }

    fn render(
        &self,
        session: &StaffSession,
        saved: bool,
        error: Option<&str>,
        status: StatusCode,
    ) -> Response {
        let lang = session.lang;
        let title = lang.t("グループとフォルダ", "Groups and folders");
        let csrf = html! { input type="hidden" name="csrf" value=(session.csrf); };
        let body = html! {
            section.settings.folders {
                h1 { (title) }
                p { (lang.t(
                    "フォルダを閲覧できるのは、そのフォルダ（または上位のフォルダ）を許されたグループのメンバーと、管理者、封筒の作成者、個別に共有された職員です。フォルダのない封筒は、文書管理者と文書閲覧者が閲覧できます。",
                    "A folder is read by the members of the groups it (or a folder above it) is granted to, administrators, each envelope's sender and the staff it is shared with. Envelopes in no folder are read by document managers and viewers."
                )) }
                @if saved { p.notice #saved role="status" { (lang.t("保存しました。", "Saved.")) } }
                @if let Some(e) = error { p.error #folders-error role="alert" { (e) } }

                h2 { (lang.t("フォルダ", "Folders")) }
                @if self.folders.is_empty() { p.hint #no-folders { (lang.t("フォルダはまだありません。", "No folder yet.")) } }
                ul.folder-tree #folder-tree {
                    @for f in &self.folders {
                        li data-folder=(f.id.to_string()) style=(format!("margin-left: {}em", (f.depth - 1) * 2)) {
                            strong { (f.name) }
                            " "
                            span.hint {
                                @if f.grants.is_empty() { (lang.t("（管理者のみ）", "(administrators only)")) }
                                @else {
                                    (lang.t("閲覧: ", "Read by: "))
                                    (f.grants.iter().map(|g| self.group_name(g)).collect::<Vec<_>>().join("、"))
                                }
                            }
                            details {
                                summary { (lang.t("変更", "Change")) span.sr-only { " " (f.path) } }
                                @let prefix = format!("f-{}", f.id);
                                form method="post" action=(format!("{PATH}/{}/update", f.id)) {
                                    (csrf)
                                    label for=(format!("{prefix}-name")) { (lang.t("フォルダ名", "Folder name")) }
                                    input #(format!("{prefix}-name")) name="name" type="text" required maxlength="100" value=(f.name);
                                    label for=(format!("{prefix}-parent")) { (lang.t("上位のフォルダ", "Parent folder")) }
                                    (self.parent_select(lang, &format!("{prefix}-parent"), Some(f), f.parent))
                                    (self.grant_boxes(lang, &prefix, &f.grants))
                                    button.secondary.save-folder type="submit" { (lang.t("保存する", "Save")) }
                                }
                                form.inline method="post" action=(format!("{PATH}/{}/delete", f.id)) {
                                    (csrf)
                                    button.link.delete-folder type="submit" { (lang.t("このフォルダを削除（空のときのみ）", "Delete this folder (only when empty)")) }
                                }
                            }
                        }
                    }
                }
                h3 { (lang.t("フォルダを作る", "Make a folder")) }
                form.grid #folder-form method="post" action=(PATH) {
                    (csrf)
                    label for="folder-name" { (lang.t("フォルダ名", "Folder name")) " *" }
                    input #folder-name name="name" type="text" required maxlength="100";
                    label for="folder-parent" { (lang.t("上位のフォルダ", "Parent folder")) }
                    (self.parent_select(lang, "folder-parent", None, None))
                    (self.grant_boxes(lang, "new-folder", &[]))
                    button.primary #make-folder type="submit" { (lang.t("作成する", "Create")) }
                }
                form #required-form method="post" action=(format!("{PATH}/required")) {
                    (csrf)
                    p {
                        input #folder-required type="checkbox" name="required" checked[self.required];
                        " "
                        label for="folder-required" { (lang.t(
                            "封筒の送信時にフォルダの指定を必須にする",
                            "Require a folder for every envelope sent"
                        )) }
                    }
                    button.secondary #save-required type="submit" { (lang.t("保存する", "Save")) }
                }

                h2 { (lang.t("グループ", "Groups")) }
                (layout::wide_table(lang.t("グループの一覧", "Groups"), html! {
                    table.list #group-list {
                        thead { tr {
                            th { (lang.t("グループ名", "Group")) }
                            th { (lang.t("メンバー", "Members")) }
                            th { span.sr-only { (lang.t("操作", "Actions")) } }
                        } }
                        tbody {
                            @for g in &self.groups {
                                tr data-group=(g.id.to_string()) {
                                    td { (g.name) }
                                    td { (g.members.iter().map(|m| self.user_name(m)).collect::<Vec<_>>().join("、")) }
                                    td {
                                        details {
                                            summary { (lang.t("変更", "Change")) span.sr-only { " " (g.name) } }
                                            @let prefix = format!("g-{}", g.id);
                                            form method="post" action=(format!("{PATH}/groups/{}/update", g.id)) {
                                                (csrf)
                                                label for=(format!("{prefix}-name")) { (lang.t("グループ名", "Group name")) }
                                                input #(format!("{prefix}-name")) name="name" type="text" required maxlength="100" value=(g.name);
                                                (self.member_boxes(lang, &prefix, &g.members))
                                                button.secondary.save-group type="submit" { (lang.t("保存する", "Save")) }
                                            }
                                            form.inline method="post" action=(format!("{PATH}/groups/{}/delete", g.id)) {
                                                (csrf)
                                                button.link.delete-group type="submit" { (lang.t("このグループを削除", "Delete this group")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }))
                h3 { (lang.t("グループを作る", "Make a group")) }
                form.grid #group-form method="post" action=(format!("{PATH}/groups")) {
                    (csrf)
                    label for="group-name" { (lang.t("グループ名", "Group name")) " *" }
                    input #group-name name="name" type="text" required maxlength="100";
                    (self.member_boxes(lang, "new-group", &[]))
                    button.primary #make-group type="submit" { (lang.t("作成する", "Create")) }
                }
            }
        };
        let mut response = layout::html(page(session.frame(title, PATH), body));
        *response.status_mut() = status;
        response
    }
}

/// `GET /app/settings/folders`.
pub(crate) async fn folders_page(
    State(state): State<Shared>,
    session: StaffSession,
    Query(shown): Query<Shown>,
) -> UiResult<Response> {
    let view = FoldersView::load(&state, &session)
        .await
        .staff_page(session.lang)?;
    Ok(view.render(&session, shown.saved, None, StatusCode::OK))
}

/// Back to the page after a change, or the page with the reason it was refused.
async fn after_change(
    state: &Shared,
    session: &StaffSession,
    outcome: Result<(), ServiceError>,
) -> UiResult<Response> {
    let lang = session.lang;
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("{PATH}?saved=true")).into_response()),
        Err(ServiceError::Invalid(why)) => {
            let view = FoldersView::load(state, session).await.staff_page(lang)?;
            Ok(view.render(
                session,
                false,
                Some(&lang.pick(&why)),
                StatusCode::BAD_REQUEST,
            ))
        }
        Err(other) => Err(other).staff_page(lang),
    }
}

/// The posted form, once its CSRF token is checked.
fn checked_form(state: &Shared, session: &StaffSession, body: &[u8]) -> Option<MultiForm> {
    let form = MultiForm::parse(body);
    session.csrf_ok(state, form.first("csrf")).then_some(form)
}

fn folder_input(form: &MultiForm) -> Result<FolderInput, ServiceError> {
    let parent = match form.first("parent").unwrap_or("").trim() {
        "" => None,
        p => Some(
            p.parse()
                .map_err(|_| ServiceError::NotFound("the folder"))?,
        ),
    };
    Ok(FolderInput {
        name: form.first("name").unwrap_or("").to_string(),
        parent,
        grants: form.ids("grants")?,
    })
}

fn group_input(form: &MultiForm) -> Result<GroupInput, ServiceError> {
    Ok(GroupInput {
        name: form.first("name").unwrap_or("").to_string(),
        members: form.ids("members")?,
    })
}

/// What a posted form asks to change.
enum Asked {
    NewFolder,
    Folder(String, String),
    NewGroup,
    Group(String, String),
    Required,
}

/// Checks the form's CSRF token, makes the change, and comes back to the page.
async fn change(
    state: &Shared,
    session: &StaffSession,
    caller: &inkan_service::Caller,
    body: &[u8],
    asked: Asked,
) -> UiResult<Response> {
    let Some(form) = checked_form(state, session, body) else {
        return Ok(expired_form(session.lang));
    };
    let (inkan, staff) = (&state.inkan, &session.staff);
    let folder_id = |id: &str| {
        id.parse::<FolderId>()
            .map_err(|_| ServiceError::NotFound("the folder"))
    };
    let group_id = |id: &str| {
        id.parse::<GroupId>()
            .map_err(|_| ServiceError::NotFound("the group"))
    };
    let outcome = async {
        match asked {
            Asked::NewFolder => inkan
                .create_folder(staff, caller, &folder_input(&form)?)
                .await
                .map(|_| ()),
            Asked::Folder(id, action) => match action.as_str() {
                "update" => inkan
                    .update_folder(staff, caller, folder_id(&id)?, &folder_input(&form)?)
                    .await
                    .map(|_| ()),
                "delete" => inkan.delete_folder(staff, caller, folder_id(&id)?).await,
                _ => Err(ServiceError::NotFound("the page")),
            },
            Asked::NewGroup => inkan
                .create_group(staff, caller, &group_input(&form)?)
                .await
                .map(|_| ()),
            Asked::Group(id, action) => match action.as_str() {
                "update" => inkan
                    .update_group(staff, caller, group_id(&id)?, &group_input(&form)?)
                    .await
                    .map(|_| ()),
                "delete" => inkan.delete_group(staff, caller, group_id(&id)?).await,
                _ => Err(ServiceError::NotFound("the page")),
            },
            Asked::Required => {
                inkan
                    .set_folder_required(staff, caller, form.first("required").is_some())
                    .await
            }
        }
    }
    .await;
    after_change(state, session, outcome).await
}

/// `POST /app/settings/folders`: a new folder.
pub(crate) async fn create_folder(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    change(&state, &session, &caller, &body, Asked::NewFolder).await
}

/// `POST /app/settings/folders/{id}/{action}`: `update` or `delete`.
pub(crate) async fn change_folder(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    change(&state, &session, &caller, &body, Asked::Folder(id, action)).await
}

/// `POST /app/settings/folders/groups`: a new group.
pub(crate) async fn create_group(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    change(&state, &session, &caller, &body, Asked::NewGroup).await
}

/// `POST /app/settings/folders/groups/{id}/{action}`: `update` or `delete`.
pub(crate) async fn change_group(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    change(&state, &session, &caller, &body, Asked::Group(id, action)).await
}

/// `POST /app/settings/folders/required`.
pub(crate) async fn set_required(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    change(&state, &session, &caller, &body, Asked::Required).await
}
