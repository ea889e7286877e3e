//! Finding the server binaries the tests need.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A server binary that is missing or too old.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Not installed where expected.
    #[error("{tool} not found (looked in {looked}); run scripts/install-test-deps.sh")]
    Missing {
        /// The tool.
        tool: &'static str,
        /// Where it was looked for.
        looked: String,
    },
    /// Installed but older than required.
    #[error(
        "{tool} at {path} is version {found}; version {required} or newer is required (run scripts/install-test-deps.sh)"
    )]
    TooOld {
        /// The tool.
        tool: &'static str,
        /// Its path.
        path: String,
        /// The version found.
        found: String,
        /// The minimum version.
        required: &'static str,
    },
    /// Starting or talking to the process failed.
    #[error("{0}")]
    Process(String),
}

/// The project's tool venv: `$SIGNAL_WORKER_TOOLS_VENV` or `.venv` at the project's root (this
/// crate lives in `crates/local-servers/`).
fn venv_bin() -> PathBuf {
    std::env::var_os("SIGNAL_WORKER_TOOLS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"))
        .join("bin")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// nats-server 2.10 or newer (subject transforms), preferring the venv's 2.15.
pub fn nats_server_binary() -> Result<PathBuf, ToolError> {
    let venv = venv_bin().join("nats-server");
    let path = if venv.is_file() {
        venv
    } else {
        on_path("nats-server").ok_or_else(|| ToolError::Missing {
            tool: "nats-server",
            looked: venv.display().to_string(),
        })?
    };
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| ToolError::Process(format!("{}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // "nats-server: v2.15.1"
    let version = text.trim().rsplit('v').next().unwrap_or("").to_owned();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (2, 10) {
        return Err(ToolError::TooOld {
            tool: "nats-server",
            path: path.display().to_string(),
            found: version,
            required: "2.10",
        });
    }
    Ok(path)
}

/// Debian's redis-server.
pub fn redis_server_binary() -> Result<PathBuf, ToolError> {
    on_path("redis-server")
        .or_else(|| Some(PathBuf::from("/usr/bin/redis-server")).filter(|p| p.is_file()))
        .ok_or(ToolError::Missing {
            tool: "redis-server",
            looked: "PATH".into(),
        })
}

/// SecantusDB's launcher from the venv.
pub fn secantus_binary() -> Result<PathBuf, ToolError> {
    let venv = venv_bin().join("secantusd-py");
    if venv.is_file() {
        return Ok(venv);
    }
    on_path("secantusd-py").ok_or_else(|| ToolError::Missing {
        tool: "secantusd-py",
        looked: venv.display().to_string(),
    })
}
