//! Riding through JetStream leader elections: a management call that fails while a cluster
//! elects a new leader (the request times out, nobody responds, or the server answers 503) is
//! tried again with backoff, within a bound.
//!
//! Only idempotent calls go through here (stream and consumer info, creating what is missing):
//! trying them again can neither lose nor duplicate a candle's outcome. Publishes and fetches
//! are not retried here: a failed one fails the intake's cycle, and the restart repositions the
//! consumer and rebuilds state, which is what keeps every outcome exactly once.

use super::BusError;
use backon::{ExponentialBuilder, Retryable};
use std::future::Future;
use std::time::Duration;

/// First pause between attempts.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// Longest pause between attempts.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// Runs `call` until it succeeds, a refusal that cannot pass later comes back (a stream that
/// does not fit), or `bound` has been spent waiting; the last error is returned.
pub async fn through_elections<T, F, Fut>(
    what: &str,
    bound: Duration,
    call: F,
) -> Result<T, BusError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, BusError>>,
{
    call.retry(
        ExponentialBuilder::default()
            .with_min_delay(FIRST_DELAY)
            .with_max_delay(MAX_DELAY)
            .with_jitter()
            .with_total_delay(Some(bound))
            .without_max_times(),
    )
    .when(|e: &BusError| {
        !matches!(
            e,
            BusError::StreamMismatch { .. }
                | BusError::StreamRefused { .. }
                | BusError::Refused { .. }
        )
    })
    .notify(|e: &BusError, delay: Duration| {
        tracing::warn!(call = what, error = %e, ?delay, "JetStream call failed (a leader election?); trying again");
    })
    .await
}
