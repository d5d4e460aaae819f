//! The integration tests of `inkan-cms`, linked as one binary (one link instead of 5).

mod common;
mod path;
mod robustness;
mod sign;
mod timestamp;
mod verify;
