//! `serve` from start to exit.

use super::shutdown::StopSignals;
use super::supervisor::Supervisor;
use super::{AppState, TaskError, candles, clock, partitions, reload};
use crate::bus::{self, BusError};
use crate::config::Settings;
use crate::telemetry::health::Dependency;
use crate::telemetry::http::{self, Endpoints};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Why the worker stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM/SIGINT, and everything finished within the deadline: exit 0.
    Clean,
    /// An essential task kept failing, or the deadline passed: exit non-zero.
    Failed(String),
}

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// NATS or the streams.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// Signal handlers.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[from] std::io::Error),
    /// The metrics recorder.
    #[error(transparent)]
    Metrics(#[from] crate::telemetry::metrics::MetricsError),
    /// The configured model may not run here (`model.allowed_sha256`) or cannot be read.
    #[error("model.dir: {0}")]
    Model(String),
    /// The metrics/health address cannot be bound.
    #[error("cannot listen on metrics.addr {addr}: {source}")]
    Listen {
        /// The configured address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Refuses to start on a model whose weights are not in `model.allowed_sha256` (when set): the
/// allow-list holds for the first model as for every reload. The hash read here is the one the
/// intake verifies against the weights when it loads them.
fn check_model_allowed(settings: &Settings) -> Result<(), StartError> {
    // With routes, every route's model must be readable (and allowed) before anything starts.
    if settings.model.allowed_sha256.is_empty() && settings.models.is_empty() {
        return Ok(());
    }
    let dirs: Vec<&str> = match settings.models.is_empty() {
        true => vec![settings.model.dir.as_str()],
        false => settings.models.iter().map(|m| m.dir.as_str()).collect(),
    };
    for dir in dirs {
        let metadata = crate::model::artifact::read_unverified_metadata(std::path::Path::new(dir))
            .map_err(|e| StartError::Model(format!("{dir}: {e}")))?;
        super::model_source::check_allowed(&settings.model, &metadata.weights_sha256)
            .map_err(|r| StartError::Model(format!("{dir}: {}", r.reason)))?;
    }
    Ok(())
}

/// Runs the worker until a stop signal or a fatal failure.
pub async fn run(settings: Settings) -> Result<Stopped, StartError> {
    let mut signals = StopSignals::install()?;
    check_model_allowed(&settings)?;
    let settings = Arc::new(settings);
    // Metrics and health come first, so a worker stuck connecting is visible.
    let metrics = crate::telemetry::metrics::install()?;
    let listener = tokio::net::TcpListener::bind(&settings.metrics.addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: settings.metrics.addr.clone(),
            source,
        })?;
    let connection = bus::Connection::open(&settings.nats, "signal-worker").await?;
    let shadow = super::routes::has_shadow(&settings);
    bus::streams::ensure_worker_streams(&connection, &settings.nats, shadow).await?;
    let models =
        bus::model_record::ModelRecords::open(&connection, &settings.nats, &settings.serve.durable)
            .await?;
    let state = AppState::new(settings.clone(), connection, models);
    tracing::info!(url = %crate::config::secret::redact_url(&settings.nats.url), "connected; streams ready");

    state.health.set(Dependency::Nats, true);
    metrics::gauge!(crate::telemetry::metrics::PARTITIONS_CONFIGURED)
        .set(f64::from(settings.nats.partitions));

    let token = CancellationToken::new();
    let mut supervisor = Supervisor::new(token.clone(), settings.serve.clone());
    {
        // The HTTP server gets its own token: it keeps answering /healthz
        // while the other tasks drain, and stops last.
        let endpoints = Endpoints {
            metrics,
            health: state.health.clone(),
            stall_after: Duration::from_millis(settings.metrics.intake_stall_ms),
        };
        let listener = Arc::new(tokio::sync::Mutex::new(Some(listener)));
        let addr = settings.metrics.addr.clone();
        supervisor.spawn("http", false, move |token| {
            let (endpoints, listener, addr) = (endpoints.clone(), listener.clone(), addr.clone());
            async move {
                // A restart binds again: the first listener was consumed.
                let bound = match listener.lock().await.take() {
                    Some(l) => l,
                    None => tokio::net::TcpListener::bind(&addr)
                        .await
                        .map_err(|e| TaskError::Io(format!("bind {addr}: {e}")))?,
                };
                http::serve(bound, endpoints, token)
                    .await
                    .map_err(|e| TaskError::Io(e.to_string()))
            }
        });
    }
    if settings.mongodb.enabled {
        let state = state.clone();
        let config = bus::archiver::ArchiverConfig {
            nats: settings.nats.clone(),
            serve: settings.serve.clone(),
            mongo: settings.mongodb.clone(),
        };
        supervisor.spawn("archiver", false, move |token| {
            let (bus, config, health) = (state.bus.clone(), config.clone(), state.health.clone());
            async move {
                bus::archiver::run(bus, config, health, token)
                    .await
                    .map_err(TaskError::from)
            }
        });
    }
    {
        let state = state.clone();
        supervisor.spawn("health", false, move |token| {
            let s = state.clone();
            async move {
                let every = Duration::from_millis(s.settings.metrics.health_poll_ms);
                loop {
                    s.health.set(Dependency::Nats, s.bus.is_connected());
                    metrics::gauge!(crate::telemetry::metrics::INTAKE_IDLE_SECONDS)
                        .set(s.health.idle().as_secs_f64());
                    tokio::select! {
                        () = token.cancelled() => return Ok(()),
                        () = tokio::time::sleep(every) => {}
                    }
                }
            }
        });
    }
    match settings.nats.partitions {
        0 => {
            let state = state.clone();
            supervisor.spawn("candles", true, move |token| {
                candles::run(state.clone(), token)
            });
        }
        count => {
            // Partitions take their model when they take a partition over; a worker on standby
            // runs none yet. Verifying it once here is what makes a standby ready, and is the
            // load the partitions then share.
            let record = super::model_in_force::current(&state)
                .await
                .map_err(|e| StartError::Model(e.to_string()))?;
            let (check, loaded) = (settings.clone(), state.loaded.clone());
            let verified = tokio::task::spawn_blocking(move || {
                super::model_in_force::load(&loaded, &check, &record).map(|_| ())
            })
            .await
            .map_err(|e| StartError::Model(format!("model check stopped: {e}")))?;
            verified.map_err(StartError::Model)?;
            state.health.set(Dependency::Model, true);
            // One supervised task per partition: a failing partition restarts alone (on
            // standby until its pin expires, then taking the partition over again).
            let held = partitions::Held::default();
            for partition in 0..count {
                let (state, held) = (state.clone(), held.clone());
                supervisor.spawn(format!("candles-p{partition}"), true, move |token| {
                    partitions::run(state.clone(), partition, held.clone(), token)
                });
            }
        }
    }
    {
        let state = state.clone();
        supervisor.spawn("backtest-stream", false, move |token| {
            let s = state.clone();
            async move {
                bus::backtest::serve_stream(
                    s.bus.clone(),
                    s.settings.nats.clone(),
                    s.settings.serve.clone(),
                    token,
                    clock::now_ms,
                )
                .await
                .map_err(TaskError::from)
            }
        });
    }
    {
        let state = state.clone();
        supervisor.spawn("backtest-live", false, move |token| {
            let s = state.clone();
            async move {
                bus::backtest::serve_live(
                    s.bus.clone(),
                    s.settings.nats.clone(),
                    s.settings.serve.clone(),
                    token,
                    clock::now_ms,
                )
                .await
                .map_err(TaskError::from)
            }
        });
    }
    {
        let state = state.clone();
        supervisor.spawn("model-control", false, move |token| {
            let s = state.clone();
            async move {
                let subject = s.settings.nats.control_subject.clone();
                let handler_state = s.clone();
                let allowed = s.settings.nats.reply_subjects.clone();
                let queue = s.settings.serve.durable.clone();
                bus::control::serve(
                    s.bus.clone(),
                    subject,
                    Some(queue),
                    allowed,
                    token,
                    move |dir| reload::answer(handler_state.clone(), dir),
                )
                .await
                .map_err(TaskError::from)
            }
        });
    }
    {
        let state = state.clone();
        supervisor.spawn("model-promote", false, move |token| {
            let s = state.clone();
            async move {
                let subject = s.settings.nats.promote_subject.clone();
                let handler_state = s.clone();
                let allowed = s.settings.nats.reply_subjects.clone();
                // One worker of the deployment records the promotion; every worker follows it.
                let queue = s.settings.serve.durable.clone();
                bus::control::serve(
                    s.bus.clone(),
                    subject,
                    Some(queue),
                    allowed,
                    token,
                    move |route| super::promote::answer(handler_state.clone(), route),
                )
                .await
                .map_err(TaskError::from)
            }
        });
    }
    {
        let state = state.clone();
        supervisor.spawn("model-scores", false, move |token| {
            let s = state.clone();
            async move {
                let subject = s.settings.nats.scores_subject.clone();
                let allowed = s.settings.nats.reply_subjects.clone();
                let scores = s.scores.clone();
                let worker = s.settings.serve.durable.clone();
                bus::control::serve(s.bus.clone(), subject, None, allowed, token, move |_| {
                    let answer = serde_json::json!({
                        "deployment": worker.clone(),
                        "pid": std::process::id(),
                        "models": scores.reports(),
                    });
                    async move { Ok(answer) }
                })
                .await
                .map_err(TaskError::from)
            }
        });
    }

    let cause = tokio::select! {
        name = signals.recv() => {
            tracing::info!(signal = name, "stop requested: finishing in-flight candles");
            None
        }
        () = token.cancelled() => Some("an essential task kept failing".to_owned()),
    };
    let began = Instant::now();
    token.cancel();
    let deadline = Duration::from_millis(settings.shutdown.deadline_ms);
    let joined = tokio::time::timeout(deadline, supervisor.join()).await;
    let mut failure = cause;
    match joined {
        Ok(Ok(())) => {}
        Ok(Err(e)) => failure = failure.or(Some(e)),
        Err(_) => {
            supervisor.abort().await;
            failure = failure.or(Some(format!("tasks did not stop within {deadline:?}")));
        }
    }
    let remaining = deadline.saturating_sub(began.elapsed());
    if tokio::time::timeout(remaining, state.bus.drain())
        .await
        .is_err()
    {
        tracing::warn!("NATS connection did not drain before the deadline");
    }
    tracing::info!(elapsed_ms = began.elapsed().as_millis() as u64, "stopped");
    Ok(match failure {
        None => Stopped::Clean,
        Some(reason) => Stopped::Failed(reason),
    })
}
