//! Temporary crate root on the `features` branch: the lead merges these
//! declarations into the real `lib.rs`.

pub mod core;
