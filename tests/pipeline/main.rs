//! The pure pipeline and everything that runs without a message server: features against
//! TA-Lib golden values, validation, contracts, configuration, deployment files, models, the
//! commands that read files. One test binary (it links the worker library once).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)] // tests may fail loudly; one worker scenario at a time holds a lock across awaits

#[path = "../common/mod.rs"]
mod common;
#[path = "../features_support/mod.rs"]
mod features_support;
/// The fuzz targets' bodies (`fuzz/bodies.rs`), replayed over their corpus by `fuzz_corpus`.
#[path = "../../fuzz/bodies.rs"]
mod fuzz_bodies;
#[path = "../serve_support/mod.rs"]
mod serve_support;

mod check_cli;
mod config_loading;
mod contract_schemas;
mod demo;
mod deployment_files;
mod features_cli;
mod features_golden;
mod features_properties;
mod fuzz_corpus;
mod model_end_to_end;
mod robustness;
mod snapshots;
mod streaming_model;
mod validation_rules;
