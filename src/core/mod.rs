//! Temporary `core` module on the `features` branch (see `lib.rs`).

pub mod bar;
pub mod features;
