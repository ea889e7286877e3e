//! Real servers for tests and benchmarks: NATS with JetStream (alone or a cluster of three),
//! Redis and a MongoDB-wire server (SecantusDB), each started on a free loopback port in its own
//! temporary directory, killed or restarted on demand (fault tests), and stopped when dropped.
//!
//! The binaries come from the project's `scripts/install-test-deps.sh` (a project venv for
//! nats-server 2.15 and SecantusDB, Debian for redis-server). Debian's own nats-server 2.9 is
//! deliberately not used: it lacks subject transforms.

#![warn(missing_docs)]

mod binaries;
mod cluster;
mod process;

pub use binaries::{ToolError, nats_server_binary, redis_server_binary, secantus_binary};
pub use cluster::NatsCluster;
pub use process::{Launch, Probe, ServerKind, ServerProcess, free_port};
