//! Model reloads decided by weights SHA-256 and recorded as the model in force (real
//! nats-server): an update in place under the same path is a new model, a restart keeps the
//! reloaded one, and every partition of every worker ends up on it.

// The serial guard is held across awaits on purpose: one server-heavy test at a time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;

use local_servers::{ServerKind, ServerProcess};
use signal_worker::contract::Signal;
use signal_worker::contract::codec::{self, Encoding};
use std::path::Path;

/// Every signal in SIGNALS as (open_time, model sha256).
async fn signal_models(js: &async_nats::jetstream::Context) -> Vec<(i64, String)> {
    all_messages(js, "SIGNALS")
        .await
        .iter()
        .map(|m| {
            let s: Signal = codec::decode(&m.payload, Encoding::MessagePack).unwrap();
            (s.open_time, s.model.sha256.to_string())
        })
        .collect()
}

fn copy_model(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["model.bpk", "model.json"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_in_place_is_a_new_model_and_a_restart_keeps_the_reloaded_one() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("models");
    let m = root.join("m");
    copy_model(Path::new(&format!("{ROOT}/models/default")), &m);
    let (root_env, dir_env) = (
        root.to_str().unwrap().to_owned(),
        m.to_str().unwrap().to_owned(),
    );
    let env = [
        ("SIGNAL_WORKER_MODEL_ROOT", root_env.as_str()),
        ("SIGNAL_WORKER_MODEL_DIR", dir_env.as_str()),
    ];
    let (client, js) = js(&url).await;
    let mut worker = Worker::start(&url, dir.path(), "first", &env);
    wait_streams(&js).await;
    let (rows, _) = btc_rows(dir.path(), "a.csv", 1, 200);
    replay_btc(&url, &rows);
    wait_drained(&js, &worker).await;
    let default_sha = weights_sha256(&m);

    // New files under the same path: a new model (by its weights), swapped in.
    let v2 = second_model(dir.path(), "v2");
    copy_model(&v2, &m);
    let v2_sha = weights_sha256(&m);
    assert_ne!(v2_sha, default_sha);
    let answer = reload_model(&client, &m).await;
    assert_eq!(answer["reloaded"], true, "{answer}\n{}", worker.log());
    wait_for("the swap", WAIT, || async {
        worker.log().contains("model swapped in")
    })
    .await;
    let (rows, last_a) = btc_rows(dir.path(), "b.csv", 201, 260);
    replay_btc(&url, &rows);
    wait_drained(&js, &worker).await;

    // Another model recorded in force, then a restart on the same settings (model.dir = m).
    let v3 = model_trained_with_seed(&root, "v3", 8);
    let v3_sha = weights_sha256(&v3);
    let answer = reload_model(&client, &v3).await;
    assert_eq!(answer["reloaded"], true, "{answer}");
    wait_for("the second swap", WAIT, || async {
        worker.log().matches("model swapped in").count() == 2
    })
    .await;
    worker.sigterm();
    assert!(worker.wait_exit(WAIT).expect("no exit").success());
    let restarted = Worker::start(&url, dir.path(), "restarted", &env);
    let (rows, last_b) = btc_rows(dir.path(), "c.csv", 261, 300);
    replay_btc(&url, &rows);
    wait_drained(&js, &restarted).await;

    let models = signal_models(&js).await;
    let after_swap: Vec<_> = models
        .iter()
        .filter(|(t, _)| *t > last_a - 60 * 3_600_000 && *t <= last_a)
        .collect();
    assert!(!after_swap.is_empty());
    assert!(
        models
            .iter()
            .filter(|(t, _)| *t > last_a)
            .all(|(_, sha)| *sha == v3_sha),
        "after the restart the reloaded model runs, not model.dir's\n{}",
        restarted.log()
    );
    assert!(models.iter().filter(|(t, _)| *t > last_a).count() >= 39);
    assert!(
        models
            .iter()
            .filter(|(t, _)| *t > last_a - 40 * 3_600_000 && *t <= last_a)
            .all(|(_, sha)| *sha == v2_sha),
        "the update in place was swapped in"
    );
    assert!(models.iter().any(|(_, sha)| *sha == default_sha));
    assert!(last_b > last_a);
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_reaches_every_partition_of_every_worker_and_survives_a_takeover() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let env = [
        ("SIGNAL_WORKER_NATS_PARTITIONS", "3"),
        ("SIGNAL_WORKER_MODEL_ROOT", root.as_str()),
        ("SIGNAL_WORKER_SERVE_PINNED_TTL_MS", "1500"),
    ];
    let (client, js) = js(&url).await;
    let mut workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(&url, dir.path(), &format!("w{i}"), &env))
        .collect();
    wait_streams(&js).await;
    let symbols: Vec<String> = (0..12).map(|k| format!("P{k}")).collect();
    let publish = |from: i64, to: i64| {
        let (js, symbols) = (js.clone(), symbols.clone());
        async move {
            for i in from..to {
                for s in &symbols {
                    let c = candle(
                        s,
                        1_498_906_800_000 + i * 3_600_000,
                        100.0 + (i as f64 * 0.3).sin(),
                    );
                    publish_raw(
                        &js,
                        &format!("candles.test.{s}.1h"),
                        codec::encode(&c, Encoding::MessagePack).unwrap(),
                        &format!("{s}:{i}"),
                    )
                    .await;
                }
            }
        }
    };
    publish(0, 150).await;
    wait_for("partitions drained", WAIT, || async {
        partitions_drained(&js, 3).await
    })
    .await;
    let v2 = second_model(dir.path(), "v2");
    let v2_sha = weights_sha256(&v2);
    let answer = reload_model(&client, &v2).await;
    assert_eq!(answer["reloaded"], true, "{answer}");
    // Every worker holding partitions swaps each of them. Awaited on what the partitions publish,
    // not on log lines (a partition handed over after its swap would make a count of swaps look
    // complete while another still runs the old model): one more hour of candles at a time until
    // a whole hour is signalled by the new model on every series.
    let mut fence_hour = 150;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        publish(fence_hour, fence_hour + 1).await;
        wait_for("partitions drained", WAIT, || async {
            partitions_drained(&js, 3).await
        })
        .await;
        let open_time = 1_498_906_800_000 + fence_hour * 3_600_000;
        fence_hour += 1;
        let hour: Vec<_> = signal_models(&js)
            .await
            .into_iter()
            .filter(|(t, _)| *t == open_time)
            .collect();
        if hour.len() == 12 && hour.iter().all(|(_, sha)| *sha == v2_sha) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reload did not reach every partition: {hour:?}"
        );
    }
    publish(fence_hour, fence_hour + 20).await;
    let after_swap = fence_hour + 20;
    wait_for("partitions drained", WAIT, || async {
        partitions_drained(&js, 3).await
    })
    .await;
    // The busiest worker dies: the survivors take its partitions over on the model in force.
    let busiest = (0..3)
        .max_by_key(|&i| metric_sum(&workers[i], "signal_worker_partitions_owned") as i64)
        .unwrap();
    workers[busiest].kill9();
    publish(after_swap, after_swap + 20).await;
    wait_for("partitions drained after the takeover", WAIT, || async {
        partitions_drained(&js, 3).await
    })
    .await;
    let models = signal_models(&js).await;
    let fence = 1_498_906_800_000 + fence_hour * 3_600_000;
    let late: Vec<_> = models.iter().filter(|(t, _)| *t >= fence).collect();
    assert_eq!(
        late.len(),
        12 * 40,
        "{}",
        workers
            .iter()
            .map(|w| w.log())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        late.iter().all(|(_, sha)| *sha == v2_sha),
        "a partition ran another model"
    );
    drop(nats);
}

/// Whether each of the `partitions` consumers has acked everything it holds.
async fn partitions_drained(js: &async_nats::jetstream::Context, partitions: u32) -> bool {
    let Ok(stream) = js.get_stream("CANDLES").await else {
        return false;
    };
    for p in 0..partitions {
        match stream.consumer_info(format!("signal-worker-p{p}")).await {
            Ok(i) if i.num_pending == 0 && i.num_ack_pending == 0 => {}
            _ => return false,
        }
    }
    true
}
