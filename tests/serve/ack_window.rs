//! The intake never asks the server for more candles than the durable consumer lets be
//! delivered and unacked (`serve.max_ack_pending`), however small that is: a pull past it is
//! refused (409), which would fail the intake over and over on a backlog.

use crate::serve_support::*;

use local_servers::{ServerKind, ServerProcess};

/// The smallest window the settings allow (`max_ack_pending` = `batch_size`), a backlog many
/// batches long: every candle gets exactly its outcome and the intake never restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_through_the_smallest_ack_window_is_served_without_a_restart() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (_client, js) = js(&url).await;
    ensure_default_streams(&js).await;
    // The backlog is stored before the worker starts, so its batches are full and the next
    // one is always waiting while one is in flight.
    replay_btc(&url, &csv_head(dir.path(), 1200));
    assert_eq!(stream_count(&js, "CANDLES").await, 1200);
    let env = [
        ("SIGNAL_WORKER_SERVE_BATCH_SIZE", "16"),
        ("SIGNAL_WORKER_SERVE_MAX_ACK_PENDING", "16"),
    ];
    let worker = Worker::start(&url, dir.path(), "worker", &env);
    wait_drained(&js, &worker).await;
    expected_once_stored(&js).await;
    assert_exact(&js, &worker.log()).await;
    assert_eq!(
        metric_sum(&worker, "signal_worker_task_restarts_total"),
        0.0,
        "the intake failed on the way:\n{}",
        worker.log()
    );
    let batches = metric_sum(&worker, "signal_worker_batch_size_count");
    assert!(
        batches >= (1200 / 16) as f64,
        "{batches} batches for 1,200 candles in batches of at most 16"
    );
}
