//! One smoke test per real server the suite uses, plus the TLS-provider
//! pitfall of DESIGN.md: a TLS-configured NATS client must fail cleanly, not panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use futures::StreamExt;
use local_servers::{ServerKind, ServerProcess};

#[tokio::test]
async fn nats_with_jetstream_stores_and_returns_a_message() {
    let server = ServerProcess::start(ServerKind::Nats).unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    assert!(
        client.server_info().version.starts_with("2.15"),
        "{}",
        client.server_info().version
    );
    let js = async_nats::jetstream::new(client);
    let stream = js
        .create_stream(async_nats::jetstream::stream::Config {
            name: "SMOKE".into(),
            subjects: vec!["smoke.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let ack = js
        .publish("smoke.a", "hello".into())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ack.stream, "SMOKE");
    let msg = stream.get_raw_message(ack.sequence).await.unwrap();
    assert_eq!(&msg.payload[..], b"hello");
}

#[tokio::test]
async fn nats_survives_a_kill_and_restart_with_its_store() {
    let mut server = ServerProcess::start(ServerKind::Nats).unwrap();
    {
        let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "KEEP".into(),
            subjects: vec!["keep".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        js.publish("keep", "1".into()).await.unwrap().await.unwrap();
    }
    server.restart().unwrap();
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    let mut stream = js.get_stream("KEEP").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 1);
}

#[tokio::test]
async fn redis_sets_and_gets() {
    let server = ServerProcess::start(ServerKind::Redis).unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_connection_manager().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut conn)
        .await
        .unwrap();
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "v");
}

#[tokio::test]
async fn secantus_speaks_the_mongodb_wire_protocol() {
    let server = ServerProcess::start(ServerKind::Secantus).unwrap();
    let client = mongodb::Client::with_uri_str(server.url()).await.unwrap();
    let coll = client
        .database("smoke")
        .collection::<mongodb::bson::Document>("c");
    coll.insert_one(mongodb::bson::doc! { "k": 1, "s": "a" })
        .await
        .unwrap();
    coll.insert_one(mongodb::bson::doc! { "k": 2, "s": "b" })
        .await
        .unwrap();
    let mut cursor = coll
        .find(mongodb::bson::doc! { "k": { "$gt": 1 } })
        .await
        .unwrap();
    let doc = cursor.next().await.unwrap().unwrap();
    assert_eq!(doc.get_str("s").unwrap(), "b");
    assert_eq!(
        coll.count_documents(mongodb::bson::doc! {}).await.unwrap(),
        2
    );
}

#[tokio::test]
async fn tls_configured_clients_fail_cleanly_instead_of_panicking() {
    // The servers speak plain TCP; a client that requires TLS must build its
    // rustls config (where the crypto-provider panic of DESIGN.md would
    // happen) and then return an error. Running each in its own task turns a
    // panic into a JoinError the assertions see.
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let nats_result = tokio::spawn(async move {
        async_nats::ConnectOptions::new()
            .require_tls(true)
            .connection_timeout(std::time::Duration::from_secs(2))
            .connect(url)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    let nats_error = nats_result
        .expect("the NATS TLS client panicked")
        .unwrap_err();
    assert!(!nats_error.is_empty());

    let mongo = ServerProcess::start(ServerKind::Secantus).unwrap();
    let uri = format!("{}/?tls=true&serverSelectionTimeoutMS=1000", mongo.url());
    let mongo_result = tokio::spawn(async move {
        let client = mongodb::Client::with_uri_str(uri)
            .await
            .map_err(|e| e.to_string())?;
        client
            .database("admin")
            .run_command(mongodb::bson::doc! { "ping": 1 })
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    assert!(
        mongo_result
            .expect("the MongoDB TLS client panicked")
            .is_err()
    );
}
