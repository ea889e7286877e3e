//! `serve` on a 3-node NATS cluster (real nats-server 2.15 processes on loopback, routed to each
//! other) with R3 streams: losing the node that leads a stream mid-stream loses no candle and
//! duplicates no signal.

// The serial guard is held across awaits on purpose: one server-heavy test at a time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

mod serve_support;

use serve_support::*;

use signal_worker::testkit::NatsCluster;

const R3: [(&str, &str); 1] = [("SIGNAL_WORKER_NATS_REPLICAS", "3")];

/// A client on every node of the cluster (it fails over between them).
async fn cluster_js(cluster: &NatsCluster) -> (async_nats::Client, async_nats::jetstream::Context) {
    let urls = cluster.urls();
    let servers: Vec<&str> = urls.split(',').collect();
    let client = async_nats::connect(servers.as_slice()).await.unwrap();
    (client.clone(), async_nats::jetstream::new(client))
}

/// Waits until `stream` has a leader other than node `gone`.
async fn wait_new_leader(
    js: &async_nats::jetstream::Context,
    cluster: &NatsCluster,
    stream: &str,
    gone: usize,
) {
    wait_for("a new leader", WAIT, || async {
        match js.get_stream(stream).await {
            Ok(mut s) => s
                .info()
                .await
                .ok()
                .and_then(|i| i.cluster.clone())
                .and_then(|c| c.leader)
                .and_then(|l| cluster.index_of(&l))
                .is_some_and(|i| i != gone),
            Err(_) => false,
        }
    })
    .await;
}

/// The index of the node leading `stream`.
async fn leader_of(
    js: &async_nats::jetstream::Context,
    cluster: &NatsCluster,
    stream: &str,
) -> usize {
    let mut s = js.get_stream(stream).await.unwrap();
    let info = s.info().await.unwrap();
    assert_eq!(info.config.num_replicas, 3, "{stream} is not R3");
    let leader = info
        .cluster
        .clone()
        .and_then(|c| c.leader)
        .expect("no leader");
    cluster.index_of(&leader).expect("unknown leader")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_leading_candles_dies_mid_stream_and_nothing_is_lost() {
    let _serial = serial();
    let mut cluster = NatsCluster::start(3).unwrap();
    let urls = cluster.urls();
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::start(&urls, dir.path(), "worker", &R3);
    let (_client, js) = cluster_js(&cluster).await;
    wait_streams(&js).await;
    let (first, _) = btc_rows(dir.path(), "first.csv", 1, 1_000);
    replay_btc_with(&urls, &first, &R3);
    wait_signals_above(&js, 200).await;
    let leader = leader_of(&js, &cluster, "CANDLES").await;
    cluster.kill(leader);
    eprintln!(
        "killed {} (leading CANDLES), never restarted",
        cluster.name(leader)
    );
    // The worker rides the election on its own; the publisher here simply waits for it.
    wait_new_leader(&js, &cluster, "CANDLES", leader).await;
    let (second, _) = btc_rows(dir.path(), "second.csv", 1_001, 2_000);
    replay_btc_with(&urls, &second, &R3);
    wait_drained(&js, &worker).await;
    assert_ne!(leader_of(&js, &cluster, "CANDLES").await, leader);
    assert_exact(&js, &worker.log()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_leading_signals_dies_mid_stream_and_comes_back() {
    let _serial = serial();
    let mut cluster = NatsCluster::start(3).unwrap();
    let urls = cluster.urls();
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::start(&urls, dir.path(), "worker", &R3);
    let (_client, js) = cluster_js(&cluster).await;
    wait_streams(&js).await;
    let (first, _) = btc_rows(dir.path(), "first.csv", 1, 1_000);
    replay_btc_with(&urls, &first, &R3);
    wait_signals_above(&js, 200).await;
    let leader = leader_of(&js, &cluster, "SIGNALS").await;
    cluster.kill(leader);
    eprintln!("killed {} (leading SIGNALS)", cluster.name(leader));
    wait_new_leader(&js, &cluster, "SIGNALS", leader).await;
    let (second, _) = btc_rows(dir.path(), "second.csv", 1_001, 1_500);
    replay_btc_with(&urls, &second, &R3);
    cluster.restart(leader).unwrap();
    let (third, _) = btc_rows(dir.path(), "third.csv", 1_501, 2_000);
    replay_btc_with(&urls, &third, &R3);
    wait_drained(&js, &worker).await;
    assert_exact(&js, &worker.log()).await;
}
