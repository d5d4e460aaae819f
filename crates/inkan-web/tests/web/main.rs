//! The integration tests of `inkan-web`, linked as one binary (one link instead of 3).

mod api;
mod common;
mod pages;
mod ui;
