//! Contract pages as images, rendered by the server itself (`inkan-render`): the browser needs
//! no PDF library and fetches nothing from elsewhere. Rendered pages are kept in a bounded
//! in-memory cache keyed by document revision, page and width, so a reader scrolling back and
//! forth costs one render per page. Each page image has the page's own text beside it, read
//! from the PDF, for readers who cannot see the image. The staff's page images are served by
//! `staff::envelope` (behind the staff session), so this module needs nothing of the staff pages.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use inkan_render::PageOutline;
use inkan_service::{DisplaySource, ServiceError};
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::extract::{Path, Query, Shared};
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Reader;

/// The widths pages are rendered at: rounded so that zooming reuses cached renders.
const WIDTH_STEP: u32 = 200;
const DEFAULT_WIDTH: u32 = 1000;

/// What the signing page needs to lay a document out, page by page: each page's size (to place
/// the fields over its image) and its text (the image's text alternative).
pub(crate) type DocumentOutline = Vec<PageOutline>;

/// Rendered pages and document outlines, least recently used first out.
pub(crate) struct PageCache {
    budget: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    used: usize,
    order: VecDeque<String>,
    images: HashMap<String, Arc<Vec<u8>>>,
    outlines: HashMap<String, Arc<DocumentOutline>>,
}

impl PageCache {
    pub fn new(budget: usize) -> PageCache {
        PageCache {
            budget,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn image(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        let inner = self.inner.lock().ok()?;
        inner.images.get(key).cloned()
    }

    fn put_image(&self, key: String, png: Arc<Vec<u8>>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.images.contains_key(&key) {
            return;
        }
        inner.used += png.len();
        inner.order.push_back(key.clone());
        inner.images.insert(key, png);
        while inner.used > self.budget {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(img) = inner.images.remove(&old) {
                inner.used -= img.len();
            }
        }
    }

    fn outline(&self, key: &str) -> Option<Arc<DocumentOutline>> {
        self.inner.lock().ok()?.outlines.get(key).cloned()
    }

    fn put_outline(&self, key: String, outline: Arc<DocumentOutline>) {
        if let Ok(mut inner) = self.inner.lock() {
            // Outlines are small (at most MAX_PAGE_TEXT_CHARS per page): a count bounds them.
            if inner.outlines.len() > 2_000 {
                inner.outlines.clear();
            }
            inner.outlines.insert(key, outline);
        }
    }
}

/// The sizes (points) and texts of a document's pages.
pub(crate) async fn document_outline(
    state: &Shared,
    source: &DisplaySource,
) -> Result<Arc<DocumentOutline>, ServiceError> {
    if let Some(outline) = state.web.pages.outline(&source.key) {
        return Ok(outline);
    }
    let bytes = state.inkan.display_bytes(source).await?;
    let outline = tokio::task::spawn_blocking(move || inkan_render::page_outlines(&bytes))
        .await
        .map_err(|e| ServiceError::failed("an internal task", e))?
        .map_err(|e| {
            ServiceError::Invalid(format!(
                "文書を表示できません (the document cannot be shown): {e}"
            ))
        })?;
    let outline = Arc::new(outline);
    state
        .web
        .pages
        .put_outline(source.key.clone(), outline.clone());
    Ok(outline)
}

#[derive(Debug, Deserialize)]
pub(crate) struct Width {
    pub(crate) w: Option<u32>,
}

/// The PNG of page `page` (`3.png`) of `source` at about `width` pixels, from the cache or
/// rendered now.
pub(crate) async fn rendered(
    state: &Shared,
    source: DisplaySource,
    page: &str,
    width: Option<u32>,
) -> Result<Response, ServiceError> {
    let page: u32 = page
        .trim_end_matches(".png")
        .parse()
        .map_err(|_| ServiceError::NotFound("the page"))?;
    if page == 0 || page > source.pages {
        return Err(ServiceError::NotFound("the page"));
    }
    let width = width.unwrap_or(DEFAULT_WIDTH).clamp(WIDTH_STEP, 2400);
    let width = width.div_ceil(WIDTH_STEP) * WIDTH_STEP;
    let key = format!("{}#{page}@{width}", source.key);
    let png = match state.web.pages.image(&key) {
        Some(png) => png,
        None => {
            let bytes = state.inkan.display_bytes(&source).await?;
            let image =
                tokio::task::spawn_blocking(move || inkan_render::render_page(&bytes, page, width))
                    .await
                    .map_err(|e| ServiceError::failed("an internal task", e))?
                    .map_err(|e| {
                        ServiceError::Invalid(format!(
                            "ページを表示できません (the page cannot be shown): {e}"
                        ))
                    })?;
            let png = Arc::new(image.png);
            state.web.pages.put_image(key, png.clone());
            png
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            // Private: behind a link token or a session.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
        ],
        png.as_ref().clone(),
    )
        .into_response())
}

/// `GET /s/{token}/documents/{doc}/pages/{n}?w=`.
pub(crate) async fn signer_page(
    State(state): State<Shared>,
    Reader(lang): Reader,
    crate::extract::CallerInfo(caller): crate::extract::CallerInfo,
    Path((token, doc, page)): Path<(String, String, String)>,
    Query(q): Query<Width>,
) -> UiResult<Response> {
    let source = state
        .inkan
        .signer_display(&token, &doc, &caller)
        .await
        .page(lang)?;
    rendered(&state, source, &page, q.w).await.page(lang)
}

/// `GET /c/{token}/documents/{doc}/pages/{n}?w=`.
pub(crate) async fn completion_page(
    State(state): State<Shared>,
    Reader(lang): Reader,
    Path((token, doc, page)): Path<(String, String, String)>,
    Query(q): Query<Width>,
) -> UiResult<Response> {
    let source = state
        .inkan
        .completion_display(&token, &doc)
        .await
        .page(lang)?;
    rendered(&state, source, &page, q.w).await.page(lang)
}
