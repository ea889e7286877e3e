//! Secured servers: NATS with TLS, credentials and per-subject permissions, Redis and the
//! MongoDB-wire store with passwords and TLS, and the cache and archive against them. One test
//! binary.

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
#[path = "../tls_support/mod.rs"]
mod tls_support;

mod archive_mongo;
mod cache_redis;
mod nats_authorization;
mod nats_security;
mod secured_stores;
