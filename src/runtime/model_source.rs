//! Which model directories a hot reload may load, and how much of them it reads.
//!
//! A reload request comes off the bus, so its body is hostile until shown otherwise: it may
//! name any directory on the host, `..` its way out, point a symlink at `/dev/zero`, or name a
//! FIFO that blocks a reader for good. Here a request is resolved under `model.root` and
//! canonicalised, every model file must be a regular file under the root within
//! `model.max_file_bytes`, and refusals say why without echoing paths or OS errors.

use crate::config::ModelSettings;
use crate::error::ErrorCode;
use crate::model::artifact::{METADATA_FILE, WEIGHTS_FILE};
use std::path::{Component, Path, PathBuf};

/// Why a model directory is not loaded; `reason` is safe to send to the requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `forbidden` (outside the root, not allow-listed), `invalid_field` (empty request) or
    /// `model_error` (missing, unreadable or invalid files).
    pub code: ErrorCode,
    /// What is wrong, without file-system paths or OS errors.
    pub reason: String,
    /// Short label for the refusal metric.
    pub label: &'static str,
}

impl Refusal {
    fn new(code: ErrorCode, label: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            label,
        }
    }
}

/// The canonical root every reloaded model must live under: `model.root`, or the parent of
/// `model.dir` when it is empty.
pub fn root(settings: &ModelSettings) -> Result<PathBuf, Refusal> {
    let configured = if settings.root.is_empty() {
        match Path::new(&settings.dir).parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    } else {
        PathBuf::from(&settings.root)
    };
    configured.canonicalize().map_err(|e| {
        tracing::error!(root = %configured.display(), error = %e, "model.root cannot be resolved");
        Refusal::new(
            ErrorCode::ModelError,
            "root_missing",
            "the model root of this worker does not exist",
        )
    })
}

/// Resolves `requested` (absolute, or relative to the root) to a canonical model directory
/// under `root`, whose model files are regular files within `max_file_bytes`.
pub fn resolve(root: &Path, requested: &str, max_file_bytes: u64) -> Result<PathBuf, Refusal> {
    if requested.is_empty() {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "empty",
            "the request body must name a model directory",
        ));
    }
    let path = Path::new(requested);
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(outside("`..` is not allowed in a model directory"));
    }
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    // Lexically first, so nothing outside the root is even looked at.
    if !joined.starts_with(root) {
        return Err(outside(
            "the model directory is not under this worker's model root",
        ));
    }
    let dir = joined.canonicalize().map_err(|_| {
        Refusal::new(
            ErrorCode::ModelError,
            "missing",
            "no model directory by that name under the model root",
        )
    })?;
    if !dir.starts_with(root) {
        return Err(outside("the model directory leads out of the model root"));
    }
    if !dir.is_dir() {
        return Err(Refusal::new(
            ErrorCode::ModelError,
            "not_a_directory",
            "the model directory is not a directory",
        ));
    }
    for name in [METADATA_FILE, WEIGHTS_FILE] {
        check_file(root, &dir.join(name), name, max_file_bytes)?;
    }
    Ok(dir)
}

/// A model file must resolve under the root, be a regular file (no FIFO, device or socket,
/// which could block or never end) and be at most `max_bytes` long.
fn check_file(root: &Path, path: &Path, name: &str, max_bytes: u64) -> Result<(), Refusal> {
    let real = path.canonicalize().map_err(|_| {
        Refusal::new(
            ErrorCode::ModelError,
            "missing",
            format!("{name} is missing"),
        )
    })?;
    if !real.starts_with(root) {
        return Err(outside(format!("{name} leads out of the model root")));
    }
    let meta = std::fs::metadata(&real).map_err(|_| {
        Refusal::new(
            ErrorCode::ModelError,
            "unreadable",
            format!("{name} cannot be read"),
        )
    })?;
    if !meta.is_file() {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "not_a_file",
            format!("{name} is not a regular file"),
        ));
    }
    if meta.len() > max_bytes {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "too_large",
            format!(
                "{name} is {} bytes, more than model.max_file_bytes ({max_bytes})",
                meta.len()
            ),
        ));
    }
    Ok(())
}

/// Refuses weights whose SHA-256 is not in `model.allowed_sha256` (when that list is set).
pub fn check_allowed(settings: &ModelSettings, weights_sha256: &str) -> Result<(), Refusal> {
    if settings.allowed_sha256.is_empty()
        || settings
            .allowed_sha256
            .iter()
            .any(|h| h.eq_ignore_ascii_case(weights_sha256))
    {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::Forbidden,
        "not_allowed",
        format!(
            "weights SHA-256 {}… is not in model.allowed_sha256",
            weights_sha256.get(..12).unwrap_or(weights_sha256)
        ),
    ))
}

fn outside(reason: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::Forbidden, "outside_root", reason)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn model_dir(root: &Path, name: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(METADATA_FILE), b"{}").unwrap();
        std::fs::write(dir.join(WEIGHTS_FILE), b"weights").unwrap();
        dir
    }

    fn refused(root: &Path, requested: &str, max: u64) -> Refusal {
        resolve(root, requested, max).unwrap_err()
    }

    #[test]
    fn a_model_under_the_root_resolves_by_absolute_or_relative_name() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let dir = model_dir(&root, "v2");
        assert_eq!(resolve(&root, "v2", 1_000).unwrap(), dir);
        assert_eq!(resolve(&root, dir.to_str().unwrap(), 1_000).unwrap(), dir);
    }

    #[test]
    fn every_way_out_of_the_root_is_refused_without_a_path() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let root = root.canonicalize().unwrap();
        let outside_dir = model_dir(tmp.path(), "elsewhere");
        model_dir(&root, "ok");
        std::os::unix::fs::symlink(&outside_dir, root.join("link-out")).unwrap();
        let cases = [
            ("../elsewhere".to_owned(), "outside_root"),
            ("ok/../../elsewhere".to_owned(), "outside_root"),
            (outside_dir.display().to_string(), "outside_root"),
            ("link-out".to_owned(), "outside_root"),
            ("/etc".to_owned(), "outside_root"),
            ("nope".to_owned(), "missing"),
            (String::new(), "empty"),
        ];
        for (requested, label) in cases {
            let r = refused(&root, &requested, 1_000);
            assert_eq!(r.label, label, "{requested}: {r:?}");
            let shown = r.reason.to_lowercase();
            assert!(
                !shown.contains('/'),
                "{requested}: reason shows a path: {shown}"
            );
            assert!(!shown.contains("os error"), "{shown}");
        }
    }

    #[test]
    fn model_files_must_be_small_regular_files_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let dir = model_dir(&root, "m");
        // Too large.
        assert_eq!(refused(&root, "m", 3).label, "too_large");
        // A symlink to /dev/zero: leads out of the root.
        std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.join(WEIGHTS_FILE)).unwrap();
        assert_eq!(refused(&root, "m", 1_000).code, ErrorCode::Forbidden);
        // A FIFO inside the root: never opened.
        std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(dir.join(WEIGHTS_FILE))
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(refused(&root, "m", 1_000).label, "not_a_file");
        // Missing.
        std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap();
        assert_eq!(refused(&root, "m", 1_000).label, "missing");
    }

    #[test]
    fn an_allow_list_admits_only_its_hashes() {
        let hash = "ab".repeat(32);
        let mut settings = ModelSettings::default();
        assert!(check_allowed(&settings, &hash).is_ok());
        settings.allowed_sha256 = vec!["cd".repeat(32)];
        let r = check_allowed(&settings, &hash).unwrap_err();
        assert_eq!(r.code, ErrorCode::Forbidden);
        settings.allowed_sha256.push(hash.to_uppercase());
        assert!(check_allowed(&settings, &hash).is_ok());
    }
}
