//! The import rules of `ARCHITECTURE.md`, checked on the source tree: a rule broken by a new
//! `use` fails the unit tests instead of waiting for a reviewer to notice.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/<dir>`.
fn sources(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// The lines of the files under `src/<dir>` (its doc and line comments left out) that name
/// any of `forbidden`.
fn offending(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let files = sources(dir);
    assert!(!files.is_empty(), "no sources under src/{dir}");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if let Some(name) = forbidden.iter().find(|f| code.contains(*f)) {
                found.push(format!("{}:{}: {name}", file.display(), number + 1));
            }
        }
    }
    found
}

#[test]
fn the_runtime_never_speaks_the_nats_protocol() {
    let found = offending("runtime", &["async_nats"]);
    assert!(found.is_empty(), "runtime/ uses NATS types: {found:#?}");
}

#[test]
fn core_and_model_hold_no_io_edges() {
    let edges = [
        "crate::bus",
        "crate::runtime",
        "crate::cache",
        "crate::archive",
        "crate::telemetry",
        "async_nats",
        "tokio::",
    ];
    for dir in ["core", "model"] {
        let found = offending(dir, &edges);
        assert!(found.is_empty(), "{dir}/ reaches an edge: {found:#?}");
    }
}

#[test]
fn the_contract_depends_on_nothing_else_in_the_crate() {
    let found = offending(
        "contract",
        &[
            "crate::core",
            "crate::model",
            "crate::bus",
            "crate::runtime",
            "crate::config",
        ],
    );
    assert!(found.is_empty(), "contract/ imports the crate: {found:#?}");
}
