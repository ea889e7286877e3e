//! The MongoDB archive against a real MongoDB-wire server (SecantusDB) that
//! is stopped and restarted: redelivery is idempotent, an outage is an error
//! the caller retries, and the archive ends complete without duplicates.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use crate::common::archived_signal as signal;
use local_servers::{ServerKind, ServerProcess};
use signal_worker::archive::{Archive, Archived};
use signal_worker::config::MongoSettings;
use std::time::{Duration, Instant};

#[tokio::test]
async fn archive_is_idempotent_and_survives_a_server_restart() {
    let mut server = ServerProcess::start(ServerKind::Secantus).unwrap();
    let settings = MongoSettings {
        url: format!(
            "{}/?serverSelectionTimeoutMS=1500&connectTimeoutMS=1000",
            server.url()
        ),
        ..MongoSettings::default()
    };
    let archive = Archive::connect(&settings).await.unwrap();
    archive.ensure_indexes().await.unwrap();
    archive.ensure_indexes().await.unwrap();

    let first: Vec<_> = (0..3).map(|i| signal(i * 3_600_000)).collect();
    assert_eq!(
        archive.insert(&first).await.unwrap(),
        Archived {
            inserted: 3,
            duplicates: 0
        }
    );
    let mut redelivered = first.clone();
    redelivered.push(signal(3 * 3_600_000));
    assert_eq!(
        archive.insert(&redelivered).await.unwrap(),
        Archived {
            inserted: 1,
            duplicates: 3
        }
    );
    assert_eq!(archive.count().await.unwrap(), 4);

    // A graceful stop: SecantusDB (WiredTiger without a journal here) keeps
    // what it flushed on shutdown; a kill -9 would lose acknowledged writes.
    server.stop();
    let during = vec![signal(4 * 3_600_000)];
    let started = Instant::now();
    assert!(
        archive.insert(&during).await.is_err(),
        "an outage is reported so the caller naks"
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    server.restart().unwrap();
    // The caller retries the same batch (redelivery) until it is stored.
    let until = Instant::now() + Duration::from_secs(30);
    let stored = loop {
        match archive.insert(&during).await {
            Ok(a) => break a,
            Err(e) => assert!(Instant::now() < until, "archive did not recover: {e}"),
        }
    };
    assert_eq!(stored.inserted + stored.duplicates, 1);
    assert_eq!(
        archive.count().await.unwrap(),
        5,
        "complete and without duplicates"
    );
    archive.close().await;
}
