//! Connecting to NATS and building the JetStream context.

use super::BusError;
use crate::config::NatsSettings;
use crate::config::secret::redact_url;
use std::path::PathBuf;
use std::time::Duration;

/// Connects with the configured timeout. After the first connection the
/// client reconnects by itself, with backoff, forever; tasks that meet a dead
/// connection fail and are restarted by the supervisor.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<async_nats::Client, BusError> {
    let fail = |message: String| BusError::Connect {
        url: redact_url(&settings.url),
        message,
    };
    secured(async_nats::ConnectOptions::new(), settings)
        .await
        .map_err(fail)?
        .name(name)
        .connection_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .request_timeout(Some(Duration::from_millis(settings.request_timeout_ms)))
        .max_reconnects(None)
        .event_callback({
            // The first `Connected` is the connection itself; every later one is a reconnect
            // (to the same server or, on a cluster, another node).
            let connected_before = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            move |event| {
                let connected_before = connected_before.clone();
                async move {
                    if matches!(event, async_nats::Event::Connected)
                        && connected_before.swap(true, std::sync::atomic::Ordering::SeqCst)
                    {
                        metrics::counter!(crate::telemetry::metrics::RECONNECTS, "dependency" => "nats")
                            .increment(1);
                    }
                    tracing::info!(%event, "nats connection event");
                }
            }
        })
        .connect(servers(&settings.url).as_slice())
        .await
        .map_err(|e| fail(e.to_string()))
}

/// The servers of `nats.url`: one URL, or a comma-separated list of a cluster's servers (the
/// client connects to one and fails over to the others, and learns the rest of the cluster from
/// the server it reaches).
pub fn servers(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect()
}

/// Adds the configured authentication and TLS. A file that cannot be read is reported by its
/// setting's name, not its path (errors reach logs; paths and secrets do not).
async fn secured(
    options: async_nats::ConnectOptions,
    settings: &NatsSettings,
) -> Result<async_nats::ConnectOptions, String> {
    let mut options = options;
    if !settings.creds_file.is_empty() {
        options = options
            .credentials_file(&settings.creds_file)
            .await
            .map_err(|e| format!("nats.creds_file is unusable: {}", e.kind()))?;
    }
    if !settings.nkey_seed_file.is_empty() {
        let seed = tokio::fs::read_to_string(&settings.nkey_seed_file)
            .await
            .map_err(|e| format!("nats.nkey_seed_file is unreadable: {}", e.kind()))?;
        options = options.nkey(seed.trim().to_owned());
    }
    if !settings.user.is_empty() {
        options =
            options.user_and_password(settings.user.clone(), settings.password.expose().to_owned());
    }
    if settings.token.is_set() {
        options = options.token(settings.token.expose().to_owned());
    }
    for (key, path) in [
        ("nats.tls_ca_file", &settings.tls_ca_file),
        ("nats.tls_cert_file", &settings.tls_cert_file),
        ("nats.tls_key_file", &settings.tls_key_file),
    ] {
        if !path.is_empty() && tokio::fs::metadata(path).await.is_err() {
            return Err(format!("{key} is unreadable"));
        }
    }
    if !settings.tls_ca_file.is_empty() {
        options = options.add_root_certificates(PathBuf::from(&settings.tls_ca_file));
    }
    if !settings.tls_cert_file.is_empty() {
        options = options.add_client_certificate(
            PathBuf::from(&settings.tls_cert_file),
            PathBuf::from(&settings.tls_key_file),
        );
    }
    let tls = settings.tls_required
        || !settings.tls_ca_file.is_empty()
        || !settings.tls_cert_file.is_empty();
    Ok(options.require_tls(tls))
}

/// The JetStream context with the configured API and ack timeouts.
pub fn jetstream(
    client: async_nats::Client,
    settings: &NatsSettings,
) -> async_nats::jetstream::Context {
    let timeout = Duration::from_millis(settings.request_timeout_ms);
    async_nats::jetstream::ContextBuilder::new()
        .timeout(timeout)
        .ack_timeout(timeout)
        .build(client)
}
