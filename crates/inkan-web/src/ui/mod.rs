//! The web pages people use: the signer's pages behind the email link (`/s/{token}`), the
//! completion page (`/c/{token}`), the staff's pages (`/login`, `/app/…`), the public
//! verification page (`/verify`) and the signer's own account and library (`/my/…`).
//!
//! Pages are rendered on the server with maud (every interpolated value is escaped by
//! construction). Contract pages are shown as images the server renders itself
//! ([`page_images`]), and the little JavaScript there is (tabs, the checklist, dialogs, field
//! placement) is served from the binary ([`assets`]): nothing comes from a CDN, and the
//! Content-Security-Policy allows only this origin.

pub(crate) mod account;
pub(crate) mod assets;
pub(crate) mod completion;
pub(crate) mod error;
pub(crate) mod guard;
pub(crate) mod i18n;
pub(crate) mod layout;
pub(crate) mod page_images;
pub(crate) mod signer;
pub(crate) mod signer_check;
pub(crate) mod staff;
pub(crate) mod verify;

pub(crate) use guard::{limit_links, RateLimits};
pub(crate) use page_images::PageCache;

/// What the pages keep between requests: rate limiters and rendered page images.
pub(crate) struct WebRuntime {
    pub limits: RateLimits,
    pub pages: PageCache,
}

impl WebRuntime {
    pub fn new() -> WebRuntime {
        WebRuntime {
            limits: RateLimits::new(),
            pages: PageCache::new(64 << 20),
        }
    }
}
