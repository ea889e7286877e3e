//! Why the configuration could not be loaded; every variant names the key.

/// A configuration error, reported at startup before anything connects.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file given with `--config`.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key that no setting has (a typo would otherwise be silently ignored).
    #[error("unknown config key `{key}`")]
    UnknownKey {
        /// Dotted key path.
        key: String,
    },
    /// An environment variable with the worker's prefix that names no setting.
    #[error("unknown environment variable {var} (no setting of that name)")]
    UnknownEnv {
        /// Variable name.
        var: String,
    },
    /// A value of the wrong type.
    #[error("config key `{key}` must be {expected}, got {found}")]
    WrongType {
        /// Dotted key path.
        key: String,
        /// The expected TOML type.
        expected: &'static str,
        /// What was given.
        found: String,
    },
    /// A value of the right type but outside its allowed range.
    #[error("invalid config: {0}")]
    Invalid(String),
}
