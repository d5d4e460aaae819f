//! The integration tests of `inkan-web`, linked as one binary (one link instead of 3).

mod common;
mod api;
mod pages;
mod ui;
