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

use crate::serve_support::*;

use local_servers::NatsCluster;

const R3: [(&str, &str); 1] = [("SIGNAL_WORKER_NATS_REPLICAS", "3")];

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

/// Publishes `rows` of the bundled BTC/USD series one by one, each retried with its
/// `Nats-Msg-Id` until the stream acknowledges it (a paced publisher that rides elections
/// without reordering: the next candle is sent only once the previous one is stored).
async fn publish_paced(
    js: &async_nats::jetstream::Context,
    from: usize,
    to: usize,
    pause: std::time::Duration,
) {
    use signal_worker::contract::codec::{self, Encoding};
    let text = std::fs::read_to_string(format!("{ROOT}/data/btcusd-1h.csv")).unwrap();
    for line in text.lines().skip(from).take(to - from + 1) {
        let f: Vec<&str> = line.split(',').collect();
        let open_time: i64 = f[0].parse().unwrap();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        let c = signal_worker::contract::CandleMessage {
            exchange: "coinbase".into(),
            symbol: "BTCUSD".into(),
            interval: "1h".into(),
            open_time,
            close_time: None,
            open: num(1),
            high: num(2),
            low: num(3),
            close: num(4),
            volume: num(5),
            trades: None,
            is_closed: true,
        };
        let body = codec::encode(&c, Encoding::MessagePack).unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(
                "Nats-Msg-Id",
                format!("coinbase:BTCUSD:1h:{open_time}").as_str(),
            );
            let sent = js
                .publish_with_headers("candles.coinbase.BTCUSD.1h", headers, body.clone().into())
                .await;
            let acked = match sent {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            };
            if acked {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "candle {open_time} never stored"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tokio::time::sleep(pause).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_every_node_under_a_paced_replay_loses_nothing() {
    let _serial = serial();
    let mut cluster = NatsCluster::start(3).unwrap();
    let urls = cluster.urls();
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::start(&urls, dir.path(), "worker", &R3);
    let (_client, js) = cluster_js(&cluster).await;
    wait_streams(&js).await;
    let (first, _) = btc_rows(dir.path(), "first.csv", 1, 300);
    replay_btc_with(&urls, &first, &R3);
    wait_signals_above(&js, 100).await;
    // The paced publisher runs while each node in turn is killed and started again.
    let publisher = {
        let js = js.clone();
        tokio::spawn(async move {
            publish_paced(&js, 301, 900, std::time::Duration::from_millis(5)).await;
        })
    };
    for node in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        cluster.kill(node);
        eprintln!("restarting {}", cluster.name(node));
        tokio::task::block_in_place(|| cluster.restart(node)).unwrap();
    }
    publisher.await.unwrap();
    wait_drained(&js, &worker).await;
    assert_exact(&js, &worker.log()).await;
}
