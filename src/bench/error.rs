//! The one error type of the bench.

use crate::bus::BusError;
use local_servers::ToolError;

/// Why a bench run could not start or complete. Each variant says what to
/// fix, because a bench that fails is usually misconfigured, not broken.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The options make no sense together (or exceed the bundled data).
    #[error("{0}")]
    Usage(String),
    /// The bundled data file cannot be read or is too short.
    #[error("bench data {path}: {message}")]
    Data {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The model cannot be loaded or the expected outcomes not computed.
    #[error("expected outcomes: {0}")]
    Expectation(String),
    /// The NATS server does not answer.
    #[error("cannot reach NATS at {url}: {message}")]
    Unreachable {
        /// The server URL.
        url: String,
        /// The client's error.
        message: String,
    },
    /// A target that is not on this machine's loopback interface.
    #[error("bench targets 127.0.0.1 only; refusing {0}")]
    NotLoopback(String),
    /// The server already holds candles of the bench's series: a second run
    /// would be deduplicated and out of order, so its counts would be wrong.
    #[error(
        "the CANDLES stream already holds {subject} candles; run against a fresh server (or unset SIGNAL_WORKER_NATS_URL to let the bench start one) or pick another --exchange"
    )]
    Dirty {
        /// The subject filter that matched.
        subject: String,
    },
    /// Stream management or publishing failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// nats-server could not be found or started.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The worker could not be started, died, or never came up.
    #[error("worker: {0}")]
    Worker(String),
    /// A phase did not receive every expected signal in time.
    #[error(
        "phase {phase}: received {received} of {expected} expected signals within {timeout_s} s (is a worker consuming CANDLES with the same model?)"
    )]
    Incomplete {
        /// The phase.
        phase: &'static str,
        /// Signals that arrived.
        received: u64,
        /// Signals the pure pipeline says must arrive.
        expected: u64,
        /// The phase's time limit.
        timeout_s: u64,
    },
    /// Reading `/proc` for the worker's CPU and memory failed.
    #[error("process statistics of pid {pid}: {message}")]
    ProcStat {
        /// The worker's process id.
        pid: u32,
        /// What failed.
        message: String,
    },
}
