//! Metric names, descriptions and the recorder.
//!
//! Names follow Prometheus conventions (`signal_worker_` prefix, base units,
//! `_total` counters) and live here only, so dashboards and code cannot drift.
//! The `metrics` crate's global recorder is the one accepted piece of process
//! state (DESIGN.md); everything else is passed down explicitly.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Candles taken from the intake, before validation.
pub const CANDLES_RECEIVED: &str = "signal_worker_candles_received_total";
/// Candles that passed validation and ordering.
pub const CANDLES_ACCEPTED: &str = "signal_worker_candles_accepted_total";
/// Candles refused, by `reason` (an `ErrorCode`).
pub const CANDLES_REJECTED: &str = "signal_worker_candles_rejected_total";
/// Repeats of a series' last candle, skipped.
pub const CANDLES_DUPLICATE: &str = "signal_worker_candles_duplicate_total";
/// Candles no live route's subjects cover: skipped, never dead-lettered.
pub const CANDLES_UNROUTED: &str = "signal_worker_candles_unrouted_total";
/// Shadow routes' signals accepted by the SHADOW stream, by `model` (the route).
pub const SHADOW_SIGNALS_PUBLISHED: &str = "signal_worker_shadow_signals_published_total";
/// Route role changes (promotions) an intake applied between two batches.
pub const ROUTE_ROLE_CHANGES: &str = "signal_worker_route_role_changes_total";
/// Signals accepted by the SIGNALS stream, by `side`.
pub const SIGNALS_PUBLISHED: &str = "signal_worker_signals_published_total";
/// Dead letters accepted by the DLQ stream, by `reason`.
pub const DLQ_WRITES: &str = "signal_worker_dlq_writes_total";
/// Supervised task restarts, by `task`.
pub const TASK_RESTARTS: &str = "signal_worker_task_restarts_total";
/// Reconnections, by `dependency` (nats, redis, mongodb).
pub const RECONNECTS: &str = "signal_worker_reconnects_total";
/// Signals newly stored in the MongoDB archive.
pub const SIGNALS_ARCHIVED: &str = "signal_worker_signals_archived_total";
/// Series snapshots written to Redis by checkpoints.
pub const SNAPSHOTS_WRITTEN: &str = "signal_worker_snapshots_written_total";
/// Series resumed from a snapshot at start.
pub const SNAPSHOTS_RESTORED: &str = "signal_worker_snapshots_restored_total";
/// Snapshots not used at start, by `reason` (the series is rebuilt from history).
pub const SNAPSHOTS_REFUSED: &str = "signal_worker_snapshots_refused_total";
/// Checkpoints that failed to write (the next one writes every series).
pub const SNAPSHOT_FAILURES: &str = "signal_worker_snapshot_failures_total";
/// Partitions of the candle stream this worker is pinned to (processing) right now.
pub const PARTITIONS_OWNED: &str = "signal_worker_partitions_owned";
/// Partitions this worker took over (at start, or from a worker that died).
pub const PARTITION_TAKEOVERS: &str = "signal_worker_partition_takeovers_total";
/// Partitions this worker handed to a standby because it held more than its fair share.
pub const PARTITION_HANDOVERS: &str = "signal_worker_partition_handovers_total";
/// Candles read back from the candle stream to rebuild series state at start.
pub const HISTORY_REPLAYED: &str = "signal_worker_history_candles_replayed_total";
/// Time to update the features of one batch.
pub const FEATURE_SECONDS: &str = "signal_worker_feature_seconds";
/// Time of one batched forward pass.
pub const INFERENCE_SECONDS: &str = "signal_worker_inference_seconds";
/// Candles per processed batch.
pub const BATCH_SIZE: &str = "signal_worker_batch_size";
/// From a candle's arrival to its signal's acceptance by SIGNALS.
pub const CANDLE_TO_SIGNAL_SECONDS: &str = "signal_worker_candle_to_signal_seconds";
/// Series with state in memory.
pub const SERIES_TRACKED: &str = "signal_worker_series_tracked";
/// Messages fetched and not yet acknowledged.
pub const IN_FLIGHT_MESSAGES: &str = "signal_worker_in_flight_messages";
/// 1 when a dependency is reachable, 0 when not, by `dependency`.
pub const DEPENDENCY_UP: &str = "signal_worker_dependency_up";
/// Always 1; the loaded model's `name`, `version` and `hash` (prefix) as labels.
pub const MODEL_INFO: &str = "signal_worker_model_info";
/// Requests never answered because their reply subject is not allowed, by path.
pub const REPLIES_REFUSED: &str = "signal_worker_replies_refused_total";
/// Dead letters the DLQ stream refused for good; their candles were terminated, by reason.
pub const DEAD_LETTERS_UNSTORABLE: &str = "signal_worker_dead_letters_unstorable_total";
/// Series dropped after `sequence.idle_evict_ms` without a candle.
pub const SERIES_EVICTED: &str = "signal_worker_series_evicted_total";
/// Clean stops, by whether the durable consumer's release was recorded for the next worker
/// (`recorded`, `unacked`: deliveries were still unacked, `failed`: the update was refused).
pub const CONSUMER_RELEASES: &str = "signal_worker_consumer_releases_total";
/// Models read and verified from disk by this process (each loaded model is shared by every
/// intake running it, so this stays at one per model however many partitions run it).
pub const MODEL_LOADS: &str = "signal_worker_model_loads_total";
/// Model reloads refused, by reason.
pub const RELOADS_REFUSED: &str = "signal_worker_model_reloads_refused_total";
/// Seconds since the intake last completed a pull cycle: what the intake-stalled alert reads.
pub const INTAKE_IDLE_SECONDS: &str = "signal_worker_intake_idle_seconds";
/// Partitions of the candle stream (`nats.partitions`; 0 unpartitioned): with every worker's
/// `partitions_owned`, whether some partition has no owner.
pub const PARTITIONS_CONFIGURED: &str = "signal_worker_partitions_configured";
/// Idle heartbeats a partition's pull missed (a lost connection or a consumer changing leader);
/// the pull goes on.
pub const PULL_HEARTBEATS_MISSED: &str = "signal_worker_pull_heartbeats_missed_total";
/// Messages of the signal stream not trusted by the start-up read of last signals, by reason.
pub const LAST_SIGNALS_IGNORED: &str = "signal_worker_last_signals_ignored_total";

/// Signals scored by their realised label, by `model` (the route).
pub const SCORE_SAMPLES: &str = "signal_worker_score_samples_total";
/// Summed log-loss of the scored signals, by `model` and `predictor` (`model`,
/// `training_prior`, `previous_return_sign`). A gauge because it is a float sum (it only grows
/// while the model in force stays the same); not `_sum`, which Prometheus reserves for
/// histograms and summaries (promtool's lint refuses it).
pub const SCORE_LOG_LOSS_SUM: &str = "signal_worker_score_log_loss_summed";
/// Correct calls among the scored signals, by `model` and `predictor`.
pub const SCORE_CORRECT: &str = "signal_worker_score_correct_total";
/// Signals not scored, by `model` and `reason` (`gap`: a gap, reset or label change inside the
/// horizon; `history`: too little history for the label).
pub const SCORE_UNSCORED: &str = "signal_worker_score_unscored_total";
/// Mean log-loss over the rolling window (`serve.score_window` samples), by `model`, `predictor`.
pub const SCORE_ROLLING_LOG_LOSS: &str = "signal_worker_score_rolling_log_loss";
/// Accuracy over the rolling window, by `model` and `predictor`.
pub const SCORE_ROLLING_ACCURACY: &str = "signal_worker_score_rolling_accuracy";
/// Mean Brier score over the rolling window, by `model` and `predictor`.
pub const SCORE_ROLLING_BRIER: &str = "signal_worker_score_rolling_brier";
/// Expected calibration error (10 bins) over the rolling window, by `model` and `predictor`.
pub const SCORE_ROLLING_ECE: &str = "signal_worker_score_rolling_ece";

/// Rolling mean of each scaled model input over the score window, by `model` and `feature`
/// (0 on the training data by construction; drift past ±0.5).
pub const FEATURE_DRIFT_MEAN: &str = "signal_worker_feature_drift_mean";
/// Rolling standard deviation of each scaled model input, by `model` and `feature` (1 on the
/// training data; drift outside [0.5, 2]).
pub const FEATURE_DRIFT_STD: &str = "signal_worker_feature_drift_std";

/// Histogram buckets for durations: 50 µs to 5 s, roughly x2.5 apart.
const SECONDS_BUCKETS: [f64; 12] = [
    5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.5, 5.0,
];
/// Histogram buckets for batch sizes.
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0, 1024.0, 4096.0];

/// The exporter could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("metrics exporter: {0}")]
pub struct MetricsError(String);

/// Registers the description and unit of every metric (shown as `# HELP`).
pub fn describe() {
    describe_counter!(
        SCORE_SAMPLES,
        Unit::Count,
        "Signals scored by their realised label, by model."
    );
    describe_gauge!(
        SCORE_LOG_LOSS_SUM,
        "Summed log-loss of scored signals, by model and predictor (model or a baseline)."
    );
    describe_counter!(
        SCORE_CORRECT,
        Unit::Count,
        "Correct calls among scored signals, by model and predictor."
    );
    describe_counter!(
        SCORE_UNSCORED,
        Unit::Count,
        "Signals not scored (gap or reset in the horizon, or too little history), by model and reason."
    );
    describe_gauge!(
        SCORE_ROLLING_LOG_LOSS,
        "Mean log-loss over the rolling score window, by model and predictor."
    );
    describe_gauge!(
        SCORE_ROLLING_ACCURACY,
        "Accuracy over the rolling score window, by model and predictor."
    );
    describe_gauge!(
        SCORE_ROLLING_BRIER,
        "Mean Brier score over the rolling score window, by model and predictor."
    );
    describe_gauge!(
        FEATURE_DRIFT_MEAN,
        "Rolling mean of each scaled model input (0 in training; drift past 0.5), by model and feature."
    );
    describe_gauge!(
        FEATURE_DRIFT_STD,
        "Rolling standard deviation of each scaled model input (1 in training; drift outside 0.5..2), by model and feature."
    );
    describe_gauge!(
        SCORE_ROLLING_ECE,
        "Expected calibration error over the rolling score window, by model and predictor."
    );
    describe_counter!(
        CANDLES_RECEIVED,
        Unit::Count,
        "Candles taken from the intake, before validation."
    );
    describe_counter!(
        CANDLES_ACCEPTED,
        Unit::Count,
        "Candles that passed validation and per-series ordering."
    );
    describe_counter!(
        CANDLES_REJECTED,
        Unit::Count,
        "Candles refused and dead-lettered, by reason code."
    );
    describe_counter!(
        CANDLES_DUPLICATE,
        Unit::Count,
        "Repeats of a series' last candle, skipped without a signal."
    );
    describe_counter!(
        CANDLES_UNROUTED,
        Unit::Count,
        "Candles no live route covers (routing settings), skipped without a dead letter."
    );
    describe_counter!(
        SHADOW_SIGNALS_PUBLISHED,
        Unit::Count,
        "Shadow routes' signals accepted by the SHADOW stream, by route."
    );
    describe_counter!(
        ROUTE_ROLE_CHANGES,
        Unit::Count,
        "Route role changes (promotions) applied by an intake between two batches."
    );
    describe_counter!(
        SIGNALS_PUBLISHED,
        Unit::Count,
        "Signals accepted by the SIGNALS stream, by side."
    );
    describe_counter!(
        DLQ_WRITES,
        Unit::Count,
        "Dead letters accepted by the DLQ stream, by reason code."
    );
    describe_counter!(
        TASK_RESTARTS,
        Unit::Count,
        "Restarts of supervised tasks, by task."
    );
    describe_counter!(
        RECONNECTS,
        Unit::Count,
        "Reconnections to a dependency, by dependency."
    );
    describe_counter!(
        SNAPSHOTS_WRITTEN,
        Unit::Count,
        "Series snapshots written to Redis by checkpoints."
    );
    describe_counter!(
        SNAPSHOTS_RESTORED,
        Unit::Count,
        "Series resumed from a snapshot at start."
    );
    describe_counter!(
        SNAPSHOTS_REFUSED,
        Unit::Count,
        "Snapshots not used at start, by reason."
    );
    describe_counter!(
        SNAPSHOT_FAILURES,
        Unit::Count,
        "Checkpoints that failed to write to Redis."
    );
    describe_gauge!(
        PARTITIONS_OWNED,
        Unit::Count,
        "Candle-stream partitions this worker is pinned to right now."
    );
    describe_counter!(
        PARTITION_TAKEOVERS,
        Unit::Count,
        "Candle-stream partitions this worker took over (at start or from a dead worker)."
    );
    describe_counter!(
        PARTITION_HANDOVERS,
        Unit::Count,
        "Partitions handed to a standby because this worker held more than its fair share."
    );
    describe_counter!(
        HISTORY_REPLAYED,
        Unit::Count,
        "Candles replayed from the candle stream to rebuild series state at start."
    );
    describe_histogram!(
        FEATURE_SECONDS,
        Unit::Seconds,
        "Time to update the features of one batch."
    );
    describe_histogram!(
        INFERENCE_SECONDS,
        Unit::Seconds,
        "Time of one batched forward pass."
    );
    describe_histogram!(BATCH_SIZE, Unit::Count, "Candles per processed batch.");
    describe_histogram!(
        CANDLE_TO_SIGNAL_SECONDS,
        Unit::Seconds,
        "From a candle's arrival to its signal's acceptance."
    );
    describe_gauge!(SERIES_TRACKED, Unit::Count, "Series with state in memory.");
    describe_gauge!(
        IN_FLIGHT_MESSAGES,
        Unit::Count,
        "Messages fetched and not yet acknowledged."
    );
    describe_gauge!(
        DEPENDENCY_UP,
        "1 when a dependency is reachable, 0 when not."
    );
    describe_counter!(
        SIGNALS_ARCHIVED,
        Unit::Count,
        "Signals inserted into the MongoDB archive."
    );
    describe_counter!(
        REPLIES_REFUSED,
        Unit::Count,
        "Requests never answered because their reply subject is not in nats.reply_subjects, by path."
    );
    describe_counter!(
        DEAD_LETTERS_UNSTORABLE,
        Unit::Count,
        "Dead letters the DLQ stream refused for good; their candles were terminated, by reason."
    );
    describe_counter!(
        SERIES_EVICTED,
        Unit::Count,
        "Series dropped after sequence.idle_evict_ms without a candle."
    );
    describe_counter!(
        CONSUMER_RELEASES,
        Unit::Count,
        "Clean stops by outcome of the durable consumer's release for the next worker."
    );
    describe_counter!(
        MODEL_LOADS,
        Unit::Count,
        "Models read and verified from disk (one per model, shared by every intake)."
    );
    describe_counter!(
        RELOADS_REFUSED,
        Unit::Count,
        "Model reloads refused, by reason."
    );
    describe_counter!(
        LAST_SIGNALS_IGNORED,
        Unit::Count,
        "Signal-stream messages the start-up read did not trust, by reason."
    );
    describe_gauge!(
        INTAKE_IDLE_SECONDS,
        Unit::Seconds,
        "Seconds since the intake last completed a pull cycle (updated every metrics.health_poll_ms)."
    );
    describe_gauge!(
        PARTITIONS_CONFIGURED,
        Unit::Count,
        "Partitions of the candle stream (nats.partitions; 0: unpartitioned)."
    );
    describe_counter!(
        PULL_HEARTBEATS_MISSED,
        Unit::Count,
        "Idle heartbeats a partition pull missed (a lost connection or a consumer leader change); the pull goes on."
    );
    describe_gauge!(
        MODEL_INFO,
        "The loaded model: name, version and weights hash prefix as labels; always 1."
    );
}

fn builder() -> Result<PrometheusBuilder, MetricsError> {
    let err = |e: metrics_exporter_prometheus::BuildError| MetricsError(e.to_string());
    let mut b = PrometheusBuilder::new();
    for name in [FEATURE_SECONDS, INFERENCE_SECONDS, CANDLE_TO_SIGNAL_SECONDS] {
        b = b
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(name.to_owned()),
                &SECONDS_BUCKETS,
            )
            .map_err(err)?;
    }
    b.set_buckets_for_metric(
        metrics_exporter_prometheus::Matcher::Full(BATCH_SIZE.to_owned()),
        &BATCH_BUCKETS,
    )
    .map_err(err)
}

/// Builds a recorder without installing it (tests use it with `metrics::with_local_recorder`).
pub fn recorder() -> Result<PrometheusRecorder, MetricsError> {
    Ok(builder()?.build_recorder())
}

/// Installs the process-wide recorder once at startup and describes every metric.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    let handle = builder()?
        .install_recorder()
        .map_err(|e| MetricsError(e.to_string()))?;
    describe();
    Ok(handle)
}
