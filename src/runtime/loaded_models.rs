//! The models this process has loaded, shared by every intake that runs them.
//!
//! Without it each partition task loaded (read, hashed, built) the model in force at every
//! takeover and every swap: sixteen partitions, sixteen copies of the same weights. Here a model
//! is loaded once and handed out behind an `Arc`; each intake gets a [`Predictor`] with its own
//! buffers over it.
//!
//! A model is found by its `metadata_sha256`, which seals the weights' SHA-256 with the scaler,
//! thresholds and features — never by its path: the same artifact under two paths is built
//! once, and new files under an old path are a new model. Every lookup still verifies the
//! directory's files (metadata seal, features, weights hash: reading and hashing the weights, a
//! few hundred KB), so a directory whose files were damaged is refused even when an intact copy
//! of the same model runs; what is shared is the network built from them. Bounded: a model no
//! intake runs any more is dropped at the next lookup of another one (the one just asked for
//! stays, so a reload's verification load is what the intakes then swap in).

use crate::config::Settings;
use crate::core::features::FEATURE_NAMES;
use crate::model::{Artifact, ArtifactError, BackendKind, InferenceEngine, LoadedModel, Predictor};
use crate::telemetry::metrics as m;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// One model's slot: empty until its first load succeeds. Locked while it loads, so intakes
/// asking for the same model wait for that one load instead of repeating it.
type Slot = Arc<Mutex<Option<Arc<LoadedModel>>>>;

/// The process's loaded models (cloning shares them).
#[derive(Debug, Clone)]
pub struct LoadedModels {
    backend: BackendKind,
    engine: InferenceEngine,
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

impl LoadedModels {
    /// Models loaded on the settings' backend and engine.
    pub fn new(settings: &Settings) -> Self {
        Self::on(settings.model.backend, settings.model.engine)
    }

    /// Models loaded on `backend` with `engine`.
    pub fn on(backend: BackendKind, engine: InferenceEngine) -> Self {
        Self {
            backend,
            engine,
            slots: Arc::default(),
        }
    }

    /// A predictor over the model in `dir`: the loaded one when this process already has it,
    /// else loaded and verified now. Blocking: call it off the async threads.
    pub fn predictor(&self, dir: &Path) -> Result<Predictor, ArtifactError> {
        let files = Artifact::verify(dir, &FEATURE_NAMES)?;
        let slot = self.slot(&files.metadata().metadata_sha256);
        let mut held = lock(&slot);
        if let Some(model) = held.as_ref() {
            return Ok(Predictor::sharing(model.clone()));
        }
        let model = Arc::new(LoadedModel::build(files, self.backend, self.engine)?);
        metrics::counter!(m::MODEL_LOADS).increment(1);
        *held = Some(model.clone());
        Ok(Predictor::sharing(model))
    }

    /// How many models are held (each at most once).
    pub fn len(&self) -> usize {
        lock(&self.slots).len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of `key`, created if new; drops every other model nothing runs any more (and the
    /// slots of failed loads) on the way.
    fn slot(&self, key: &str) -> Slot {
        let mut slots = lock(&self.slots);
        slots.retain(|k, slot| k == key || in_use(slot));
        slots.entry(key.to_owned()).or_default().clone()
    }
}

/// Whether an intake runs the slot's model (or it is loading right now).
fn in_use(slot: &Slot) -> bool {
    match slot.try_lock() {
        Ok(model) => model.as_ref().is_some_and(|m| Arc::strong_count(m) > 1),
        Err(_) => true,
    }
}

/// A lock that a panicked holder cannot poison for the rest of the process: the guarded values
/// are replaced whole, never left half-written.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default")
    }

    #[test]
    fn one_model_is_loaded_once_and_shared() {
        let models = LoadedModels::on(BackendKind::Flex, InferenceEngine::Fused);
        let a = models.predictor(&shipped()).unwrap();
        let b = models.predictor(&shipped()).unwrap();
        assert!(Arc::ptr_eq(a.model(), b.model()));
        assert_eq!(
            Arc::strong_count(a.model()),
            3,
            "two predictors and the cache"
        );
        assert_eq!(models.len(), 1);
    }

    #[test]
    fn the_same_artifact_under_another_path_is_the_same_model() {
        let copy = tempfile::tempdir().unwrap();
        for file in ["model.json", "model.bpk"] {
            std::fs::copy(shipped().join(file), copy.path().join(file)).unwrap();
        }
        let models = LoadedModels::on(BackendKind::Flex, InferenceEngine::Fused);
        let a = models.predictor(&shipped()).unwrap();
        let b = models.predictor(copy.path()).unwrap();
        assert!(Arc::ptr_eq(a.model(), b.model()));
    }

    #[test]
    fn a_model_nothing_runs_is_dropped_when_another_is_asked_for() {
        let models = LoadedModels::on(BackendKind::Flex, InferenceEngine::Fused);
        let first = models.predictor(&shipped()).unwrap();
        let weak = Arc::downgrade(first.model());
        drop(first);
        let streaming = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/streaming");
        let _other = models.predictor(&streaming).unwrap();
        assert_eq!(models.len(), 1, "only the model in use is held");
        assert!(
            weak.upgrade().is_none(),
            "the unused model's weights are freed"
        );
    }

    #[test]
    fn damaged_files_are_refused_even_while_an_intact_copy_runs() {
        let broken = tempfile::tempdir().unwrap();
        let json = broken.path().join("model.json");
        std::fs::copy(shipped().join("model.json"), json).unwrap();
        std::fs::write(broken.path().join("model.bpk"), b"not the weights").unwrap();
        let models = LoadedModels::on(BackendKind::Flex, InferenceEngine::Fused);
        let running = models.predictor(&shipped()).unwrap();
        let refused = models.predictor(broken.path());
        assert!(
            matches!(refused, Err(ArtifactError::WeightsHashMismatch { .. })),
            "{refused:?}"
        );
        assert_eq!(models.len(), 1);
        drop(running);
    }

    #[test]
    fn a_failed_load_holds_nothing() {
        let empty = tempfile::tempdir().unwrap();
        let models = LoadedModels::on(BackendKind::Flex, InferenceEngine::Fused);
        assert!(models.predictor(empty.path()).is_err());
        assert!(models.is_empty());
    }
}
