//! One bench run, phase by phase.
//!
//! 1. **warm-up**: each series' history up to and including its first signal,
//!    so every later candle finds its features and window ready;
//! 2. **sustained**: `--candles` more per series, round-robin, published as
//!    fast as the server acknowledges; throughput is candles over the time
//!    from the first candle sent to the last signal received;
//! 3. **burst**: one more candle for every series at once (a minute close),
//!    timed from the first candle sent to the last signal;
//! 4. **paced** (with `--rate`): candles at a fixed rate for
//!    `--paced-seconds`, where latency measures the worker, not a backlog.
//!
//! With `--restart` the worker keeps series snapshots in a redis-server of the bench's own, and
//! is stopped in order and started again before the burst: the burst then measures a start-up —
//! from the new process to its first signal, every series resumed from its snapshot.
//!
//! Each phase publishes, then waits for exactly the signals the pure pipeline
//! predicted for it (see [`super::expect`]) before the next begins.

use super::BenchError;
use super::expect::{self, Expected};
use super::load::{self, Workload};
use super::measured::{Measured, report};
use super::meter::{self, Meter};
use super::phases::{Phase, check, paced_per_series, phases};
use super::procstat::ProcStat;
use super::publish::CandlePublisher;
use super::report::{PhaseReport, Report, RestartReport};
use super::worker::{self, Consumer, OwnNats, OwnWorker};
use crate::config::Settings;
use crate::runtime::clock;
use futures::TryStreamExt;
use local_servers::{ServerKind, ServerProcess};

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Capacity of the meter's subscription (messages): a burst of many thousand
/// signals must queue in the client, never be dropped as a slow consumer.
const SUBSCRIPTION_CAPACITY: usize = 1 << 20;
/// How long an already running worker gets to show its consumer.
const EXTERNAL_WORKER_WAIT: Duration = Duration::from_secs(10);
/// How long the bench's own worker gets to load its model and subscribe.
const OWN_WORKER_WAIT: Duration = Duration::from_secs(120);

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Number of series.
    pub series: u32,
    /// Candles per series in the sustained phase.
    pub candles: usize,
    /// Paced phase rate (candles/s); no paced phase without it.
    pub rate: Option<f64>,
    /// Paced phase length (s).
    pub paced_seconds: f64,
    /// Exchange token of the bench's series.
    pub exchange: String,
    /// The bundled CSV file the bars come from.
    pub data: PathBuf,
    /// Publishes awaiting their acknowledgement at once.
    pub in_flight: usize,
    /// Longest a phase may take.
    pub phase_timeout: Duration,
    /// An already running NATS server (with a worker); `None` starts both.
    pub nats_url: Option<String>,
    /// Start a 3-node loopback cluster (streams R3) instead of one server (without `nats_url`).
    pub cluster: bool,
    /// The external worker's process id, to read its CPU and RSS.
    pub worker_pid: Option<u32>,
    /// Run the phases against the pass-through consumer first (on a NATS of its own), and
    /// report the worker's rates against it (without `nats_url`).
    pub passthrough: bool,
    /// Keep series snapshots in Redis and restart the worker before the burst (see the module
    /// documentation; without `nats_url`).
    pub restart: bool,
}

/// Runs the bench and returns its figures (with `passthrough`, the pass-through's first, then
/// the worker's, each on a NATS of its own). Needs a multi-threaded runtime (model loading and
/// process control block briefly).
pub async fn run(options: &BenchOptions, settings: &Settings) -> Result<Report, BenchError> {
    check(options)?;
    if let Some(url) = &options.nats_url {
        worker::check_loopback(url)?;
    }
    // The bench creates the streams as its own worker will: R3 on its own cluster.
    let mut settings = settings.clone();
    if options.nats_url.is_none() {
        settings.nats.replicas = OwnNats::replicas_of(options.cluster);
    }
    // A bench of N series measures N series: past `sequence.max_series` every new series would
    // be dead-lettered, and the run would measure refusals. The bench's own worker (and the
    // expectation) admit them all; an external worker must already.
    let wanted = options.series as usize;
    let limit = settings.sequence.max_series;
    if limit > 0 && limit < wanted {
        match options.nats_url {
            None => settings.sequence.max_series = wanted,
            Some(_) => {
                return Err(BenchError::Usage(format!(
                    "--series {wanted} is more than sequence.max_series ({limit}): the worker would \
                     dead-letter every series past it; raise SIGNAL_WORKER_SEQUENCE_MAX_SERIES for \
                     the worker and the bench"
                )));
            }
        }
    }
    let settings = &settings;
    let nats = &settings.nats;
    // Inputs and expectations first: a bad option fails before any server starts.
    let bars = load::read_bars(&options.data, settings.validation.max_message_bytes)?;
    let now_ms = clock::now_ms();
    let (workload, expected, warmup, signal_bytes) = tokio::task::block_in_place(|| {
        // The prediction holds the probe series of `warmup_len` besides the run's: no series
        // limit (the worker's was checked above), or the last series would be predicted refused.
        let mut unlimited = settings.clone();
        unlimited.sequence.max_series = 0;
        let mut pipeline = expect::pipeline(&unlimited)?;
        let (warmup, mut signal) =
            expect::warmup_len(&mut pipeline, &nats.candle_subject_prefix, &bars, now_ms)?;
        let paced = paced_per_series(options);
        let per_series = warmup + options.candles + 1 + paced;
        let workload = Workload::new(bars, &options.exchange, options.series, per_series)?;
        let expected = Expected::compute(
            &mut pipeline,
            &nats.candle_subject_prefix,
            &workload,
            now_ms,
        )?;
        // The worker's signal for a bench series, as the wire carries it.
        signal.exchange = options.exchange.as_str().into();
        signal.symbol = load::symbol(0).into();
        let signal_bytes =
            crate::contract::codec::encode(&signal, crate::contract::codec::Encoding::MessagePack)
                .map_err(|e| BenchError::Expectation(e.to_string()))?
                .len();
        Ok::<_, BenchError>((workload, expected, warmup, signal_bytes))
    })?;
    let phases = phases(options, warmup);
    let ceiling = match options.passthrough {
        true => {
            let every = Expected::every_candle(&workload);
            let consumer = Consumer::Passthrough {
                payload_bytes: signal_bytes,
            };
            let measured = measure(options, settings, &workload, &every, &phases, consumer).await?;
            Some(report(options, settings, warmup, consumer, measured, None))
        }
        false => None,
    };
    let measured = measure(
        options,
        settings,
        &workload,
        &expected,
        &phases,
        Consumer::Worker,
    )
    .await?;
    Ok(report(
        options,
        settings,
        warmup,
        Consumer::Worker,
        measured,
        ceiling,
    ))
}

/// Runs every phase against `consumer`: on a NATS the bench starts for it (and stops after),
/// or on the given one with its already running worker.
async fn measure(
    options: &BenchOptions,
    settings: &Settings,
    workload: &Workload,
    expected: &Expected,
    phases: &[Phase],
    consumer: Consumer,
) -> Result<Measured, BenchError> {
    let nats = &settings.nats;
    let mut own_server = match &options.nats_url {
        Some(_) => None,
        None => Some(tokio::task::block_in_place(|| {
            OwnNats::start(options.cluster)
        })?),
    };
    // Without a server of its own the bench was given one (checked by the caller).
    let url = own_server.as_ref().map_or_else(
        || options.nats_url.clone().unwrap_or_default(),
        OwnNats::url,
    );
    let client = connect(&url, settings).await?;
    let js = crate::bus::connect::jetstream(client.clone(), nats);
    crate::bus::streams::ensure_streams(&js, nats).await?;
    refuse_dirty(&js, settings, workload.exchange()).await?;
    let mut meter = Meter::subscribe(
        &client,
        format!("{}.{}.>", nats.signal_subject_prefix, workload.exchange()),
    )
    .await?;

    // Snapshots for the restart: only the worker has series to resume.
    let redis = match options.restart && consumer == Consumer::Worker {
        true => Some(tokio::task::block_in_place(|| {
            ServerProcess::start(ServerKind::Redis)
        })?),
        false => None,
    };
    let mut own = match own_server.take() {
        Some(server) => Some(OwnWorker::spawn(server, redis, consumer, settings)?),
        None => None,
    };
    match own.as_mut() {
        Some(w) => {
            worker::wait_consumer(&js, nats, &settings.serve, OWN_WORKER_WAIT, || {
                w.check_alive()
            })
            .await?
        }
        None => {
            worker::wait_consumer(&js, nats, &settings.serve, EXTERNAL_WORKER_WAIT, || Ok(()))
                .await?
        }
    }
    let mut watched = match (own.as_ref(), options.worker_pid) {
        (Some(w), _) => Some(ProcStat::new(w.pid())?),
        (None, Some(pid)) => Some(ProcStat::new(pid)?),
        (None, None) => None,
    };

    let publisher =
        CandlePublisher::new(js.clone(), &nats.candle_subject_prefix, options.in_flight);
    let mut reports = Vec::new();
    let mut stray = 0;
    let mut restart = None;
    // Peak RSS of a worker process that was restarted away.
    let mut earlier_peak: Option<f64> = None;
    for phase in phases {
        let restarted = match (phase.restart_before, own.as_mut()) {
            (true, Some(w)) if consumer == Consumer::Worker => {
                earlier_peak = watched.map(|p| p.peak_rss_mb()).transpose()?;
                let (stopped, started) = tokio::task::block_in_place(|| w.restart())?;
                watched = Some(ProcStat::new(w.pid())?);
                Some((stopped, started))
            }
            _ => None,
        };
        let cpu_before = watched.map(|w| w.cpu_seconds()).transpose()?;
        let sent = publisher
            .publish(workload.round_robin(phase.range.clone()), phase.rate)
            .await?;
        let want = expected.signals_in(workload, phase.range.clone());
        let deadline = sent.first.unwrap_or_else(Instant::now) + options.phase_timeout;
        let collected = meter
            .collect(want, |k| sent.at.contains_key(k), deadline)
            .await
            .map_err(|received| BenchError::Incomplete {
                phase: phase.name,
                received,
                expected: want,
                timeout_s: options.phase_timeout.as_secs(),
            })?;
        if let Some(w) = own.as_mut() {
            w.check_alive()?;
        }
        if let (Some((stopped, started)), Some(w)) = (restarted, own.as_ref()) {
            let since = |at: Option<Instant>| {
                at.map_or(0.0, |at| {
                    at.saturating_duration_since(started).as_secs_f64() * 1_000.0
                })
            };
            restart = Some(RestartReport {
                stop_ms: stopped.as_secs_f64() * 1_000.0,
                first_signal_ms: since(collected.arrivals.iter().map(|a| a.at).min()),
                last_signal_ms: since(collected.arrivals.iter().map(|a| a.at).max()),
                resumed_series: tokio::task::block_in_place(|| {
                    w.metric("signal_worker_snapshots_restored_total")
                }),
            });
        }
        let cpu_after = watched.map(|w| w.cpu_seconds()).transpose()?;
        stray += collected.stray;
        let first = sent.first.unwrap_or_else(Instant::now);
        let acked = sent.acked.unwrap_or(first);
        let last = collected
            .arrivals
            .iter()
            .map(|a| a.at)
            .max()
            .unwrap_or(acked)
            .max(acked);
        let wall = last.saturating_duration_since(first).as_secs_f64();
        let candles = sent.at.len() as u64;
        reports.push(PhaseReport {
            name: phase.name,
            candles,
            signals: collected.arrivals.len() as u64,
            wall_ms: wall * 1_000.0,
            publish_ms: acked.saturating_duration_since(first).as_secs_f64() * 1_000.0,
            candles_per_s: candles as f64 / wall.max(1e-9),
            target_rate: phase.rate,
            latency: meter::latencies(&sent.at, &collected.arrivals),
            worker_cpu_s: cpu_after.zip(cpu_before).map(|(a, b)| a - b),
        });
    }
    let rss_mb = watched
        .map(|w| w.peak_rss_mb())
        .transpose()?
        .map(|now| earlier_peak.map_or(now, |before| before.max(now)));
    // Close the bench's connection before its server goes, so the client
    // does not log a lost connection at the end of a successful run.
    drop((meter, publisher, js));
    let _ = client.drain().await;
    if let Some(w) = own {
        tokio::task::block_in_place(|| w.stop());
    }
    Ok(Measured {
        phases: reports,
        rss_mb,
        stray,
        restart,
    })
}

/// Connects without retrying: an unreachable server is an immediate, clear error.
async fn connect(url: &str, settings: &Settings) -> Result<async_nats::Client, BenchError> {
    async_nats::ConnectOptions::new()
        .name("signal-worker-bench")
        .connection_timeout(Duration::from_millis(settings.nats.connect_timeout_ms))
        .request_timeout(Some(Duration::from_millis(
            settings.nats.request_timeout_ms,
        )))
        .subscription_capacity(SUBSCRIPTION_CAPACITY)
        .connect(crate::bus::connect::servers(url).as_slice())
        .await
        .map_err(|e| BenchError::Unreachable {
            url: url.to_owned(),
            message: e.to_string(),
        })
}

/// Refuses a server whose CANDLES stream already holds the bench's subjects:
/// those candles would be deduplicated or out of order for the worker, and
/// the counts of this run would not be the deterministic ones.
async fn refuse_dirty(
    js: &async_nats::jetstream::Context,
    settings: &Settings,
    exchange: &str,
) -> Result<(), BenchError> {
    let nats = &settings.nats;
    let subject = format!("{}.{exchange}.>", nats.candle_subject_prefix);
    let stream = js
        .get_stream(&nats.candles_stream)
        .await
        .map_err(|e| crate::bus::BusError::api("get stream", &nats.candles_stream, e))?;
    let mut subjects = stream
        .info_with_subjects(&subject)
        .await
        .map_err(|e| crate::bus::BusError::api("stream info", &nats.candles_stream, e))?;
    let held = subjects
        .try_next()
        .await
        .map_err(|e| crate::bus::BusError::api("stream info", &nats.candles_stream, e))?;
    match held {
        Some(_) => Err(BenchError::Dirty { subject }),
        None => Ok(()),
    }
}
