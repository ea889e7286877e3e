//! The Redis cache against a real redis-server that is killed and restarted:
//! writes never block past their deadline, nothing newer is lost, and the
//! cache catches up when Redis returns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use signal_worker::cache::snapshots::SnapshotStore;
use signal_worker::cache::{Cache, CacheError};
use signal_worker::config::RedisSettings;
use signal_worker::contract::{
    ClassProbabilities, Exchange, Interval, ModelRef, SeriesKey, Side, Signal, Symbol, Thresholds,
};
use signal_worker::testkit::{ServerKind, ServerProcess};
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
        exchange: key.exchange.to_string(),
        symbol: key.symbol.to_string(),
        interval: key.interval.to_string(),
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
            sha256: "0".repeat(64),
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
