//! `signal-worker model import SRC --out models/NAME`: a PyTorch export (`python/torch_export`)
//! mapped onto the project's layers and sealed as a normal verified artifact.

use crate::config::Settings;
use crate::core::features::FEATURE_NAMES;
use crate::model::import::import;
use crate::model::{Artifact, BackendKind, ModelIdentity};
use std::path::Path;

/// Imports `src` into `out` (created; its name becomes the model name), then loads the result
/// back through the normal verification before saying it is done.
pub fn run_import(
    src: &Path,
    out: &Path,
    version: &str,
    created_at: Option<&str>,
    settings: &Settings,
) -> Result<(), String> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: the output directory needs a name", out.display()))?
        .to_owned();
    let identity = ModelIdentity {
        name,
        version: version.to_owned(),
        created_at: created_at.map_or_else(super::time::now_utc, str::to_owned),
    };
    let backend = BackendKind::default();
    let artifact = import(
        src,
        identity,
        settings.decision,
        &FEATURE_NAMES,
        &backend.device(),
    )
    .map_err(|e| format!("{}: {e}", src.display()))?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    artifact.save(out).map_err(|e| e.to_string())?;
    let report = super::report::render(&artifact.metadata);
    std::fs::write(out.join("REPORT.md"), &report).map_err(|e| format!("REPORT.md: {e}"))?;
    let loaded = Artifact::load(out, &FEATURE_NAMES, backend).map_err(|e| e.to_string())?;
    println!(
        "imported {} v{}: weights sha256 {} ({:?} {}x{}, {} features, window {})",
        loaded.metadata.name,
        loaded.metadata.version,
        loaded.metadata.weights_sha256,
        loaded.metadata.architecture.kind,
        loaded.metadata.architecture.layers,
        loaded.metadata.architecture.hidden,
        loaded.metadata.feature_names.len(),
        loaded.metadata.architecture.sequence_length
    );
    Ok(())
}
