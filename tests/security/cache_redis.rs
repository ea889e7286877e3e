//! The Redis cache against a real redis-server that is killed and restarted:
//! writes never block past their deadline, nothing newer is lost, and the
//! cache catches up when Redis returns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use local_servers::{ServerKind, ServerProcess};
use signal_worker::cache::snapshots::SnapshotStore;
use signal_worker::cache::{Cache, CacheError};
use signal_worker::config::RedisSettings;
use signal_worker::contract::{
    ClassProbabilities, Exchange, Interval, ModelRef, SeriesKey, Side, Signal, Symbol, Thresholds,
};
use std::time::{Duration, Instant};

fn series(symbol: &str) -> SeriesKey {
    SeriesKey {
        exchange: Exchange::new("coinbase").unwrap(),
        symbol: Symbol::new(symbol).unwrap(),
        interval: Interval::H1,
    }
}

fn signal(key: &SeriesKey, open_time: i64) -> Signal {
    Signal {
        exchange: key.exchange.as_str().into(),
        symbol: key.symbol.as_str().into(),
        interval: key.interval.as_str().into(),
        open_time,
        side: Side::Neutral,
        confidence: 0.5,
        probabilities: ClassProbabilities {
            long: 0.3,
            short: 0.2,
            neutral: 0.5,
        },
        model: ModelRef {
            name: "default".into(),
            version: "1".into(),
            sha256: "0".repeat(64).into(),
        },
        thresholds: Thresholds {
            min_confidence: 0.5,
        },
    }
}

async fn stored_open_time(url: &str, key: &str) -> Option<i64> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let raw: Option<Vec<u8>> = redis::cmd("GET")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    raw.map(|b| serde_json::from_slice::<Signal>(&b).unwrap().open_time)
}

#[tokio::test]
async fn survives_a_redis_restart_and_catches_up() {
    let mut server = ServerProcess::start(ServerKind::Redis).unwrap();
    let settings = RedisSettings {
        url: server.url(),
        ..RedisSettings::default()
    };
    let mut cache = Cache::new(&settings).unwrap();
    let keys: Vec<SeriesKey> = ["BTCUSD", "ETHUSD", "SOLUSD"]
        .iter()
        .map(|s| series(s))
        .collect();
    for k in &keys {
        cache.put_signal(k, &signal(k, 1_000)).await.unwrap();
    }
    assert!(cache.is_up());
    assert_eq!(
        stored_open_time(&server.url(), &cache.signal_key(&keys[0])).await,
        Some(1_000)
    );

    server.kill();
    let deadline = Duration::from_millis(settings.command_timeout_ms) * 4;
    for (i, k) in keys.iter().enumerate() {
        for t in [2_000, 3_000] {
            let started = Instant::now();
            let result = cache.put_signal(k, &signal(k, t + i as i64)).await;
            assert!(result.is_err(), "Redis is down");
            assert!(
                started.elapsed() < deadline,
                "a down cache must not stall: {:?}",
                started.elapsed()
            );
        }
    }
    assert!(!cache.is_up());
    assert_eq!(
        cache.pending(),
        keys.len(),
        "only the newest value per key is owed"
    );
    assert!(cache.health_check().await.is_err());

    server.restart().unwrap();
    // The manager reconnects by itself; health checks catch up once it has.
    let until = Instant::now() + Duration::from_secs(10);
    while cache.health_check().await.is_err() {
        assert!(Instant::now() < until, "the cache did not recover");
    }
    assert!(cache.is_up());
    assert_eq!(cache.pending(), 0);
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(
            stored_open_time(&server.url(), &cache.signal_key(k)).await,
            Some(3_000 + i as i64)
        );
    }
}

#[tokio::test]
async fn snapshots_round_trip_and_a_down_redis_is_reported_not_fatal() {
    let server = ServerProcess::start(ServerKind::Redis).unwrap();
    let k = series("BTCUSD");
    let store = SnapshotStore::new(&RedisSettings {
        url: server.url(),
        ..RedisSettings::default()
    })
    .unwrap();
    assert_eq!(store.read_all().await.unwrap(), vec![]);
    // Two series indexed, one snapshot stored: the missing one is reported, not skipped.
    let ids = vec![k.id(), series("ETHUSD").id()];
    store.write(&ids, &[(k.id(), vec![1, 2, 3])]).await.unwrap();
    let mut read = store.read_all().await.unwrap();
    read.sort();
    assert_eq!(
        read,
        vec![(k.id(), Some(vec![1, 2, 3])), (series("ETHUSD").id(), None)]
    );
    drop(server);
    assert!(
        store.read_all().await.is_err(),
        "a dead Redis is an error, not an empty checkpoint"
    );

    // Nothing listens on this port any more: construction still succeeds (lazy).
    let mut offline = Cache::new(&RedisSettings {
        url: "redis://127.0.0.1:1".into(),
        ..RedisSettings::default()
    })
    .unwrap();
    let err = offline.put_signal(&k, &signal(&k, 1)).await.unwrap_err();
    assert!(
        matches!(err, CacheError::Redis(_) | CacheError::Timeout(_)),
        "{err}"
    );
    assert!(matches!(
        offline.put_signal(&k, &signal(&k, 2)).await,
        Err(CacheError::Behind(1))
    ));
}

/// Evicted series leave Redis too: their snapshots and index entries are removed by the next
/// checkpoint, so a restart does not bring them back (checkpoints against a real redis-server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_series_lose_their_snapshot_and_index_entry() {
    use signal_worker::contract::CandleMessage;
    use signal_worker::contract::codec::{self, Encoding};
    use signal_worker::core::pipeline::Input;
    use signal_worker::runtime::checkpoint::Checkpoints;

    let redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let settings = RedisSettings {
        enabled: true,
        url: redis.url(),
        ..RedisSettings::default()
    };
    let mut all = signal_worker::config::Settings::default();
    all.sequence.idle_evict_ms = 10 * 3_600_000;
    let predictor = signal_worker::runtime::model::load_predictor(
        &all,
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default")),
    )
    .unwrap();
    let pipeline = signal_worker::runtime::model::build_pipeline(&all, predictor).unwrap();
    // The intake runs a router; with `model.dir` alone, one route whose snapshot ids are the
    // series ids.
    let mut pipeline = signal_worker::core::routing::Router::single("default", pipeline, "candles");
    let hour = 3_600_000;
    let t0 = 1_498_906_800_000;
    let bar = |symbol: &str, i: i64| CandleMessage {
        exchange: "coinbase".into(),
        symbol: symbol.into(),
        interval: "1h".into(),
        open_time: t0 + i * hour,
        close_time: None,
        open: 100.0 + i as f64,
        high: 102.0 + i as f64,
        low: 99.0 + i as f64,
        close: 101.0 + i as f64,
        volume: 5.0,
        trades: None,
        is_closed: true,
    };
    let feed = |pipeline: &mut signal_worker::core::routing::Router,
                symbols: &[&str],
                i: i64,
                now: i64| {
        let bodies: Vec<Vec<u8>> = symbols
            .iter()
            .map(|s| codec::encode(&bar(s, i), Encoding::MessagePack).unwrap())
            .collect();
        let inputs: Vec<Input<'_>> = bodies
            .iter()
            .map(|b| Input {
                bytes: b,
                encoding: Encoding::MessagePack,
                subject: None,
            })
            .collect();
        pipeline.process(&inputs, Some(now)).unwrap();
    };
    for i in 0..5 {
        feed(&mut pipeline, &["A", "B", "C"], i, t0 + (i + 1) * hour);
    }
    let mut checkpoints = Checkpoints::new(&settings, None).unwrap().unwrap();
    checkpoints.finish(&mut pipeline, 15).await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let index = |conn: &mut redis::aio::MultiplexedConnection| {
        let mut conn = conn.clone();
        async move {
            let mut ids: Vec<String> = redis::cmd("SMEMBERS")
                .arg("signal-worker:snapshot-index")
                .query_async(&mut conn)
                .await
                .unwrap();
            ids.sort();
            ids
        }
    };
    assert_eq!(
        index(&mut conn).await,
        ["coinbase:A:1h", "coinbase:B:1h", "coinbase:C:1h"]
    );
    // A goes on; B and C fall silent for longer than idle_evict_ms plus two bars.
    let later = t0 + 20 * hour;
    feed(&mut pipeline, &["A"], 5, later);
    let evicted = pipeline.evict_idle(later);
    assert_eq!(evicted.len(), 2);
    checkpoints.forget(&mut pipeline, &evicted, 16);
    checkpoints.finish(&mut pipeline, 16).await;
    assert_eq!(index(&mut conn).await, ["coinbase:A:1h"]);
    for (key, exists) in [("A", 1), ("B", 0), ("C", 0)] {
        let n: i64 = redis::cmd("EXISTS")
            .arg(format!("signal-worker:snapshot:coinbase:{key}:1h"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, exists, "snapshot of {key}");
    }
}
