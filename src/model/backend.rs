//! Which burn backend runs the network.
//!
//! burn 0.22 has no backend type parameter: a tensor's backend is chosen by the `Device` it lives
//! on (`Device::flex()`, `Device::ndarray()`, and `.autodiff()` for training). So the choice is a
//! runtime value, parsed from config or `--backend`, and the same compiled code serves both.

use serde::{Deserialize, Serialize};

use burn::tensor::Device;

/// A CPU backend compiled into this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn's pure-Rust CPU backend: the default, and the faster one on this workload.
    #[default]
    Flex,
    /// burn's ndarray backend (deprecated upstream), kept selectable for portability and as an
    /// independent check of the numbers; present when the `ndarray` cargo feature is on (default).
    #[cfg(feature = "ndarray")]
    Ndarray,
}

/// A backend name that is not compiled into this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}` (this build has: {names}; ndarray needs the `ndarray` cargo feature)", names = BackendKind::NAMES)]
pub struct UnknownBackend(pub String);

impl BackendKind {
    /// Every backend compiled into this build, for help texts and tests.
    #[cfg(feature = "ndarray")]
    pub const ALL: &'static [BackendKind] = &[BackendKind::Flex, BackendKind::Ndarray];
    /// Every backend compiled into this build, for help texts and tests.
    #[cfg(not(feature = "ndarray"))]
    pub const ALL: &'static [BackendKind] = &[BackendKind::Flex];
    /// The names of [`BackendKind::ALL`], for messages.
    #[cfg(feature = "ndarray")]
    pub const NAMES: &'static str = "flex, ndarray";
    /// The names of [`BackendKind::ALL`], for messages.
    #[cfg(not(feature = "ndarray"))]
    pub const NAMES: &'static str = "flex";

    /// The inference device of this backend.
    pub fn device(self) -> Device {
        match self {
            BackendKind::Flex => Device::flex(),
            // Deprecated upstream in favour of flex; selecting it is this enum's purpose.
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            BackendKind::Ndarray => Device::ndarray(),
        }
    }

    /// The training device of this backend: the same device with autodiff enabled.
    pub fn autodiff_device(self) -> Device {
        self.device().autodiff()
    }

    /// The lowercase name used in config, CLI and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            #[cfg(feature = "ndarray")]
            BackendKind::Ndarray => "ndarray",
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "flex" => Ok(BackendKind::Flex),
            #[cfg(feature = "ndarray")]
            "ndarray" => Ok(BackendKind::Ndarray),
            _ => Err(UnknownBackend(s.to_string())),
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(all(test, not(feature = "ndarray")))]
mod flex_only_tests {
    use super::*;

    #[test]
    fn ndarray_is_refused_with_a_clear_error_when_not_compiled() {
        let err = "ndarray".parse::<BackendKind>().unwrap_err();
        assert!(err.to_string().contains("cargo feature"));
        assert_eq!(BackendKind::ALL, &[BackendKind::Flex]);
    }
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_defaults_to_flex() {
        assert_eq!("flex".parse::<BackendKind>(), Ok(BackendKind::Flex));
        assert_eq!("NdArray".parse::<BackendKind>(), Ok(BackendKind::Ndarray));
        assert!("wgpu".parse::<BackendKind>().is_err());
        assert_eq!(BackendKind::default(), BackendKind::Flex);
        let json = serde_json::to_string(&BackendKind::Ndarray).unwrap_or_default();
        assert_eq!(json, "\"ndarray\"");
    }

    #[test]
    fn devices_differ_by_backend() {
        assert_ne!(BackendKind::Flex.device(), BackendKind::Ndarray.device());
        assert!(BackendKind::Flex.autodiff_device().is_autodiff());
    }
}
