//! Connecting to Redis: URL, optional ACL user and password, TLS with a private CA or client
//! certificate, and the reconnecting connection manager.

use super::CacheError;
use crate::config::RedisSettings;
use crate::config::secret::redact_url;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ClientTlsConfig, IntoConnectionInfo, TlsCertificates};
use std::time::Duration;

/// A connection manager that connects lazily and reconnects by itself, with exponential backoff
/// and jitter between attempts. Errors name the setting at fault, never a password or a path.
pub fn connect(settings: &RedisSettings) -> Result<ConnectionManager, CacheError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)))
        .set_response_timeout(Some(Duration::from_millis(settings.command_timeout_ms)))
        .set_number_of_retries(usize::try_from(settings.reconnect_retries).unwrap_or(usize::MAX))
        .set_min_delay(Duration::from_millis(settings.reconnect_min_delay_ms))
        .set_max_delay(Duration::from_millis(settings.reconnect_max_delay_ms));
    Ok(ConnectionManager::new_lazy_with_config(
        client(settings)?,
        config,
    )?)
}

/// The client for the configured URL, credentials and TLS files.
fn client(settings: &RedisSettings) -> Result<redis::Client, CacheError> {
    let bad_url = |e: redis::RedisError| {
        CacheError::Config(format!(
            "redis.url {} is unusable: {:?}",
            redact_url(&settings.url),
            e.kind()
        ))
    };
    let info = settings
        .url
        .as_str()
        .into_connection_info()
        .map_err(bad_url)?;
    let mut redis = info.redis_settings().clone();
    if !settings.username.is_empty() {
        redis = redis.set_username(&settings.username);
    }
    if settings.password.is_set() {
        redis = redis.set_password(settings.password.expose());
    }
    let info = info.set_redis_settings(redis);
    if settings.tls_ca_file.is_empty() && settings.tls_cert_file.is_empty() {
        return redis::Client::open(info).map_err(bad_url);
    }
    let read = |key: &str, path: &str| {
        std::fs::read(path)
            .map_err(|e| CacheError::Config(format!("{key} is unreadable: {}", e.kind())))
    };
    let root_cert = match settings.tls_ca_file.as_str() {
        "" => None,
        path => Some(read("redis.tls_ca_file", path)?),
    };
    let client_tls = match settings.tls_cert_file.as_str() {
        "" => None,
        path => Some(ClientTlsConfig {
            client_cert: read("redis.tls_cert_file", path)?,
            client_key: read("redis.tls_key_file", &settings.tls_key_file)?,
        }),
    };
    redis::Client::build_with_tls(
        info,
        TlsCertificates {
            client_tls,
            root_cert,
        },
    )
    .map_err(|e| CacheError::Config(format!("redis TLS settings are unusable: {:?}", e.kind())))
}
