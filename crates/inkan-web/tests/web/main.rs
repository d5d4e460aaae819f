//! The integration tests of `inkan-web`, linked as one binary (one link).

mod api;
mod common;
mod pages;
mod templates;
mod ui;
