//! The worker as users run it: `serve` against real nats-server 2.15 (single, cluster, partitions),
//! Redis and the trading clients; faults, hostile bus input, reloads, snapshots, the soak and
//! `bench`. One test binary; scenarios that start a worker take `serve_support::serial()`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)] // tests may fail loudly; one worker scenario at a time holds a lock across awaits

#[path = "../common/mod.rs"]
mod common;
#[path = "../serve_support/mod.rs"]
mod serve_support;

mod ack_window;
mod bench_cli;
mod cluster;
mod end_to_end;
mod faults;
mod hostile_bus;
mod partitions;
mod reload;
mod servers_smoke;
mod snapshots;
mod soak;
mod streams;
mod telemetry_http;
mod trading_clients;
