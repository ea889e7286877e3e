//! Soak: `serve` under a fast `replay` for a bounded time (`SOAK_SECONDS`, default 40) while a
//! seeded random schedule (`SOAK_SEED`) kills the worker, nats-server, redis-server and
//! SecantusDB with SIGKILL at random moments and restarts them. At the end every candle has
//! exactly one outcome (its signal, its dead letter, or a skip), SIGNALS holds no duplicate, the
//! MongoDB archive equals SIGNALS, and no worker's memory grew without bound.
//!
//! The pauses between faults are the schedule itself (what the test randomises), not waits for
//! an event; every wait for an outcome polls state against a deadline.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;
use futures::TryStreamExt;
use local_servers::{ServerKind, ServerProcess};
use mongodb::bson::Document;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The fault schedule replays from its seed: the crate's own generator (the one training draws
/// from), with the pauses it needs.
struct Rng(signal_worker::model::rng::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.next() % (to - from))
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of a process (kB), from /proc.
fn rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The worker incarnations of the soak and the memory samples of each.
struct Workers {
    url: String,
    dir: std::path::PathBuf,
    env: Vec<(&'static str, String)>,
    current: Worker,
    incarnation: usize,
    /// Per incarnation: RSS samples (kB) in time order.
    rss: Vec<Vec<u64>>,
    logs: String,
}

impl Workers {
    fn start(url: &str, dir: &Path, env: Vec<(&'static str, String)>) -> Self {
        let current = Self::spawn(url, dir, &env, 0);
        Self {
            url: url.to_owned(),
            dir: dir.to_owned(),
            env,
            current,
            incarnation: 0,
            rss: vec![Vec::new()],
            logs: String::new(),
        }
    }

    fn spawn(url: &str, dir: &Path, env: &[(&'static str, String)], n: usize) -> Worker {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Worker::start(url, dir, &format!("worker-{n}"), &env)
    }

    fn sample(&mut self) {
        if let Some(kb) = rss_kb(self.current.child.id())
            && let Some(samples) = self.rss.last_mut()
        {
            samples.push(kb);
        }
    }

    fn kill_and_restart(&mut self) {
        self.current.kill9();
        self.logs.push_str(&self.current.log());
        self.incarnation += 1;
        self.current = Self::spawn(&self.url, &self.dir, &self.env, self.incarnation);
        self.rss.push(Vec::new());
    }
}

/// Replays each bundled CFFEX series, paced by `speed` (times real time) so the load spans the
/// soak, until one pass of it succeeds. A pass that meets a dead nats-server fails; the next
/// republishes the whole file at full speed, and JetStream drops what it already stored by
/// `Nats-Msg-Id`. Returns the number of passes.
fn replay_until_done(
    url: String,
    files: Vec<(String, &'static str)>,
    speed: f64,
    done: Arc<AtomicBool>,
) -> usize {
    let mut attempts = 0;
    for (file, symbol) in files {
        let mut pace = vec!["--speed".to_owned(), speed.to_string()];
        loop {
            attempts += 1;
            let out = std::process::Command::new(BIN)
                .arg("replay")
                .arg(&file)
                .args([
                    "--exchange",
                    "cffex",
                    "--symbol",
                    symbol,
                    "--interval",
                    "1m",
                ])
                .args(&pace)
                .env("SIGNAL_WORKER_NATS_URL", &url)
                .env("SIGNAL_WORKER_NATS_CONNECT_TIMEOUT_MS", "1000")
                .env("SIGNAL_WORKER_LOG", "error")
                .output()
                .unwrap();
            if out.status.success() {
                break;
            }
            pace = vec!["--max".to_owned()];
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    done.store(true, Ordering::SeqCst);
    attempts
}

/// The first `rows` candles of a bundled CFFEX file, as a CSV named after its symbol, and the
/// time they span (ms).
fn cffex_head(dir: &Path, file: &str, symbol: &str, rows: usize) -> (String, i64) {
    let text = std::fs::read_to_string(format!("{ROOT}/data/{file}")).unwrap();
    let head: Vec<&str> = text.lines().take(rows + 1).collect();
    let path = dir.join(format!("{symbol}.csv"));
    std::fs::write(&path, head.join("\n") + "\n").unwrap();
    let open = |line: &str| line.split(',').next().unwrap().parse::<i64>().unwrap();
    (path.display().to_string(), open(head[rows]) - open(head[1]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_under_random_kills_loses_nothing_and_repeats_nothing() {
    let _serial = serial();
    let seconds = env_u64("SOAK_SECONDS", 40);
    let seed = env_u64("SOAK_SEED", 0x5eed_2026);
    let mut rng = Rng(signal_worker::model::rng::SplitMix64::new(seed));
    let mut nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let mut redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let mut mongo = ServerProcess::start(ServerKind::Secantus).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("SIGNAL_WORKER_REDIS_ENABLED", "true".to_owned()),
        ("SIGNAL_WORKER_REDIS_URL", redis.url()),
        ("SIGNAL_WORKER_REDIS_SNAPSHOT_INTERVAL_MS", "500".to_owned()),
        ("SIGNAL_WORKER_MONGODB_ENABLED", "true".to_owned()),
        ("SIGNAL_WORKER_MONGODB_URL", mongo.url()),
        // Redelivery of what a killed worker held comes soon enough to finish inside the soak.
        ("SIGNAL_WORKER_SERVE_ACK_WAIT_MS", "5000".to_owned()),
    ];
    let workers = Arc::new(Mutex::new(Workers::start(&url, dir.path(), env)));
    let (_client, js) = js(&url).await;
    wait_streams(&js).await;

    // Bad candles among good ones, so dead letters are part of what must come out exactly once.
    let hour = 3_600_000;
    let base = 1_600_000_000_000 / hour * hour;
    for i in 0..80 {
        let mut c = candle("BAD", base + i * hour, 100.0 + (i as f64).sin());
        if i % 9 == 4 {
            c.close = -1.0;
        }
        publish_raw(
            &js,
            "candles.test.BAD.1h",
            rmp_serde::to_vec_named(&c).unwrap(),
            &format!("bad-{i}"),
        )
        .await;
    }

    let (ic, span) = cffex_head(dir.path(), "icl8-cffex-1m.csv", "IC", 12_000);
    let (im, _) = cffex_head(dir.path(), "iml8-cffex-1m.csv", "IM", 12_000);
    // Each file over about 40% of the soak: the load lasts while the faults come.
    let speed = span as f64 / (seconds as f64 * 400.0);
    let replayed = Arc::new(AtomicBool::new(false));
    let replay = {
        let (url, done) = (url.clone(), replayed.clone());
        let files = vec![(ic, "IC"), (im, "IM")];
        std::thread::spawn(move || replay_until_done(url, files, speed, done))
    };

    // Memory of whichever worker runs, every 100 ms, for the whole soak.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (workers, sampling) = (workers.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::SeqCst) {
                workers.lock().unwrap().sample();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut faults: Vec<String> = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(rng.millis(1_500, 4_000)).await;
        let down = rng.millis(200, 1_500);
        let at = started.elapsed().as_secs_f64();
        match rng.next() % 4 {
            0 => {
                workers.lock().unwrap().kill_and_restart();
                faults.push(format!("{at:.1}s worker"));
            }
            1 => {
                nats.kill();
                tokio::time::sleep(down).await;
                nats.restart().unwrap();
                faults.push(format!("{at:.1}s nats ({down:?} down)"));
            }
            2 => {
                redis.kill();
                tokio::time::sleep(down).await;
                redis.restart().unwrap();
                faults.push(format!("{at:.1}s redis ({down:?} down)"));
            }
            _ => {
                mongo.kill();
                tokio::time::sleep(down).await;
                mongo.restart().unwrap();
                faults.push(format!("{at:.1}s mongodb ({down:?} down)"));
            }
        }
    }
    eprintln!(
        "seed {seed:#x}: {} faults: {}",
        faults.len(),
        faults.join(", ")
    );

    let attempts = tokio::task::spawn_blocking(move || replay.join().unwrap())
        .await
        .unwrap();
    assert!(replayed.load(Ordering::SeqCst));
    let total = stream_count(&js, "CANDLES").await;
    assert_eq!(total, 80 + 24_000, "every candle stored exactly once");
    {
        let w = workers.lock().unwrap();
        wait_drained(&js, &w.current).await;
    }
    sampling.store(false, Ordering::SeqCst);
    sampler.join().unwrap();

    // The archive catches up with SIGNALS, document for signal.
    let mongo_client = mongodb::Client::with_uri_str(mongo.url()).await.unwrap();
    let archive = mongo_client
        .database("signal_worker")
        .collection::<Document>("signals");
    let signal_ids: BTreeSet<String> = all_messages(&js, "SIGNALS")
        .await
        .iter()
        .map(|m| {
            m.headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .unwrap()
                .to_string()
        })
        .collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let archived = archive.count_documents(Document::new()).await;
        if matches!(archived, Ok(n) if n == signal_ids.len() as u64) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the archive holds {archived:?} documents, SIGNALS {}\n{}",
            signal_ids.len(),
            workers.lock().unwrap().current.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let archived: BTreeSet<String> = archive
        .find(Document::new())
        .await
        .unwrap()
        .try_collect::<Vec<Document>>()
        .await
        .unwrap()
        .iter()
        .map(|d| d.get_str("_id").unwrap().to_owned())
        .collect();
    assert_eq!(archived, signal_ids, "the archive differs from SIGNALS");

    let mut w = workers.lock().unwrap();
    let log = format!("{}{}", w.logs, w.current.log());
    assert_exact(&js, &log).await;

    // Memory: within each worker's life, the last third's peak stays near the first third's.
    let mut worst = 0i64;
    let lives = w.rss.iter().filter(|s| s.len() >= 30).count();
    assert!(lives > 0, "no worker lived 3 s: memory was not watched");
    for samples in w.rss.iter().filter(|s| s.len() >= 30) {
        let third = samples.len() / 3;
        let early = samples[..third].iter().max().copied().unwrap_or(0) as i64;
        let late = samples[samples.len() - third..]
            .iter()
            .max()
            .copied()
            .unwrap_or(0) as i64;
        worst = worst.max(late - early);
    }
    let peak = w.rss.iter().flatten().max().copied().unwrap_or(0);
    eprintln!(
        "{seconds} s soak: {} worker lives ({lives} watched 3 s or more), {total} candles, {} signals archived, replay passes {attempts}, peak RSS {} MiB, worst growth within a life {} KiB",
        w.incarnation + 1,
        archived.len(),
        peak / 1024,
        worst
    );
    assert!(peak < 512 * 1024, "worker RSS reached {} MiB", peak / 1024);
    assert!(
        worst < 64 * 1024,
        "a worker's memory grew by {worst} KiB within its life"
    );
    w.current.sigterm();
    assert!(w.current.wait_exit(WAIT).is_some());
}
