//! The supervisor owns every task: a failure is logged with the task's name,
//! counted, and the task restarted after an exponential backoff (backon); an
//! essential task that keeps failing cancels everything instead, so the
//! worker stops in order and exits non-zero. No task is fire-and-forget.

use super::TaskError;
use crate::config::ServeSettings;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How a supervised task ended for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEnd {
    /// It stopped because shutdown was requested (or it had nothing more to do).
    Stopped(String),
    /// It was essential and failed `max_restarts` times in a row.
    GaveUp(String),
}

/// Owns the tasks and the token that stops them.
#[derive(Debug)]
pub struct Supervisor {
    tasks: JoinSet<TaskEnd>,
    token: CancellationToken,
    settings: ServeSettings,
}

impl Supervisor {
    /// A supervisor whose tasks stop when `token` is cancelled.
    pub fn new(token: CancellationToken, settings: ServeSettings) -> Self {
        Self {
            tasks: JoinSet::new(),
            token,
            settings,
        }
    }

    /// Runs `make(token)` under supervision until it returns `Ok` or the
    /// token is cancelled; restarts it after every failure (and panic).
    pub fn spawn<F, Fut>(&mut self, name: impl Into<String>, essential: bool, mut make: F)
    where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), TaskError>> + Send + 'static,
    {
        let name: String = name.into();
        let token = self.token.clone();
        let settings = self.settings.clone();
        self.tasks.spawn(async move {
            let min = Duration::from_millis(settings.restart_min_delay_ms);
            let max = Duration::from_millis(settings.restart_max_delay_ms);
            let backoff = || {
                ExponentialBuilder::default()
                    .with_min_delay(min)
                    .with_max_delay(max)
                    .with_jitter()
                    .without_max_times()
                    .build()
            };
            let mut delays = backoff();
            let mut failures: u32 = 0;
            loop {
                let started = Instant::now();
                let result = AssertUnwindSafe(make(token.clone()))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| Err(TaskError::Panicked(panic_message(&panic))));
                let error = match result {
                    Ok(()) => return TaskEnd::Stopped(name),
                    Err(e) => e,
                };
                if token.is_cancelled() {
                    if matches!(error, TaskError::Interrupted(_)) {
                        tracing::info!(task = %name, reason = %error, "task stopped");
                    } else {
                        tracing::warn!(task = %name, error = %error, "task failed while shutting down");
                    }
                    return TaskEnd::Stopped(name);
                }
                if started.elapsed() >= max {
                    // It ran healthily for a while: this is a new streak.
                    failures = 0;
                    delays = backoff();
                }
                failures += 1;
                metrics::counter!(crate::telemetry::metrics::TASK_RESTARTS, "task" => name.clone()).increment(1);
                if essential && failures > settings.max_restarts {
                    tracing::error!(task = %name, error = %error, failures, "essential task keeps failing; shutting the worker down");
                    token.cancel();
                    return TaskEnd::GaveUp(name);
                }
                let delay = delays.next().unwrap_or(max);
                tracing::error!(task = %name, error = %error, failures, ?delay, "task failed; restarting");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = token.cancelled() => return TaskEnd::Stopped(name),
                }
            }
        });
    }

    /// Waits for every task to end; `Err` names the first essential task
    /// that gave up (or an abort, which only happens on a runtime bug).
    pub async fn join(&mut self) -> Result<(), String> {
        let mut outcome = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok(TaskEnd::Stopped(name)) => tracing::debug!(task = %name, "task stopped"),
                Ok(TaskEnd::GaveUp(name)) => {
                    if outcome.is_ok() {
                        outcome = Err(format!("task {name} kept failing"));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "supervised task aborted");
                    if outcome.is_ok() {
                        outcome = Err(format!("a task was aborted: {e}"));
                    }
                }
            }
        }
        outcome
    }

    /// Aborts whatever still runs (after the shutdown deadline).
    pub async fn abort(&mut self) {
        self.tasks.shutdown().await;
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
