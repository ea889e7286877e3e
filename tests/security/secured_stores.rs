//! Redis and MongoDB that require a password and TLS (a private CA made by the test): the
//! worker's cache and archive clients work with the right settings, and fail with a clear error
//! that never contains the password with wrong ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::archived_signal;

use local_servers::{Launch, Probe, ServerKind, ServerProcess};
use mongodb::bson::doc;
use signal_worker::archive::Archive;
use signal_worker::cache::snapshots::SnapshotStore;
use signal_worker::config::secret::Secret;
use signal_worker::config::{MongoSettings, RedisSettings};

const PASSWORD: &str = "st0re-pass-71c2";
const WRONG: &str = "wrong-pass-0a9d";

/// A server started with `args` through the one launcher, ready once its port accepts
/// connections (a TLS-only listener answers nothing in plain text). `args` gets the port the
/// launcher picked.
fn secured(
    kind: ServerKind,
    args: impl Fn(u16) -> Vec<String> + Send + Sync + 'static,
) -> ServerProcess {
    ServerProcess::start_with(
        kind,
        Launch::new(Probe::Listening, move |port, _| args(port)),
    )
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A refusal names its cause (one of `expect`) and never shows a password or the test's
/// directory (where the certificates live).
fn assert_clear_and_discreet(what: &str, err: &str, expect: &[&str], dir: &str) {
    eprintln!("{what}: {err}");
    assert!(
        expect.iter().any(|e| err.contains(e)),
        "{what}: unclear error {err}"
    );
    assert!(
        !err.contains(PASSWORD) && !err.contains(WRONG) && !err.contains(dir),
        "{what}: a secret or path leaked: {err}"
    );
}

fn redis_settings(url: String, password: &str, ca: &str) -> RedisSettings {
    RedisSettings {
        enabled: true,
        url,
        password: Secret::new(password),
        tls_ca_file: ca.to_owned(),
        connect_timeout_ms: 3_000,
        command_timeout_ms: 3_000,
        reconnect_retries: 0,
        ..RedisSettings::default()
    }
}

/// Writes one snapshot and reads it back; the error text otherwise.
async fn round_trip(settings: &RedisSettings) -> Result<(), String> {
    let store = SnapshotStore::new(settings).map_err(|e| e.to_string())?;
    let id = "test:SEC:1h".to_owned();
    store
        .write(
            std::slice::from_ref(&id),
            &[(id.clone(), b"state".to_vec())],
        )
        .await
        .map_err(|e| e.to_string())?;
    let read = store.read_all().await.map_err(|e| e.to_string())?;
    assert_eq!(read, vec![(id, Some(b"state".to_vec()))]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_with_a_password_and_tls_accepts_the_right_settings_only() {
    let dir = tempfile::tempdir().unwrap();
    crate::tls_support::certificates(dir.path());
    let d = dir.path().display().to_string();
    let redis = secured(ServerKind::Redis, {
        let d = d.clone();
        move |port| {
            strings(&[
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                &format!("{d}/server.pem"),
                "--tls-key-file",
                &format!("{d}/server.key"),
                "--tls-ca-cert-file",
                &format!("{d}/ca.pem"),
                "--tls-auth-clients",
                "no",
                "--requirepass",
                PASSWORD,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &d,
            ])
        }
    });
    let port = redis.port();
    let tls_url = format!("rediss://127.0.0.1:{port}");
    let ca = format!("{d}/ca.pem");

    round_trip(&redis_settings(tls_url.clone(), PASSWORD, &ca))
        .await
        .expect("the right password and CA work");

    let cases = [
        (
            "wrong password",
            redis_settings(tls_url.clone(), WRONG, &ca),
            &["WRONGPASS", "uthentication"][..],
        ),
        (
            "no password",
            redis_settings(tls_url.clone(), "", &ca),
            &["NOAUTH", "uthentication"][..],
        ),
        (
            "untrusted server certificate",
            redis_settings(tls_url.clone(), PASSWORD, ""),
            &["certificate", "UnknownIssuer", "TLS", "tls"][..],
        ),
        (
            "plain text to a TLS port",
            redis_settings(format!("redis://127.0.0.1:{port}"), PASSWORD, ""),
            &[
                "connection",
                "closed",
                "reset",
                "timed out",
                "did not answer",
                "IoError",
            ][..],
        ),
    ];
    for (what, settings, expect) in cases {
        let err = round_trip(&settings).await.expect_err(what);
        assert_clear_and_discreet(what, &err, expect, &d);
    }

    let bad_file = RedisSettings {
        tls_ca_file: format!("{d}/missing-ca.pem"),
        ..redis_settings(tls_url, PASSWORD, "")
    };
    let err = SnapshotStore::new(&bad_file).unwrap_err().to_string();
    assert!(err.contains("redis.tls_ca_file is unreadable"), "{err}");
    assert!(!err.contains(&d), "the path leaked: {err}");
}

fn mongo_settings(port: u16, password: &str, ca: &str) -> MongoSettings {
    MongoSettings {
        enabled: true,
        url: format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=4000"),
        // Pinned rather than negotiated, as a deployment that knows its server would.
        auth_mechanism: "SCRAM-SHA-256".into(),
        username: "worker".into(),
        password: Secret::new(password),
        auth_source: "admin".into(),
        tls: true,
        tls_ca_file: ca.to_owned(),
        database: "secured".into(),
        ..MongoSettings::default()
    }
}

/// Archives one signal and counts the archive; the error text otherwise.
async fn archive_one(settings: &MongoSettings) -> Result<u64, String> {
    let archive = Archive::connect(settings)
        .await
        .map_err(|e| e.to_string())?;
    archive
        .insert(&[archived_signal(1_704_067_200_000)])
        .await
        .map_err(|e| e.to_string())?;
    let n = archive.count().await.map_err(|e| e.to_string())?;
    archive.close().await;
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_with_scram_auth_and_tls_accepts_the_right_settings_only() {
    let dir = tempfile::tempdir().unwrap();
    crate::tls_support::certificates(dir.path());
    let d = dir.path().display().to_string();
    let base = {
        let d = d.clone();
        move |port: u16| {
            strings(&[
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--storage-path",
                &format!("{d}/data"),
            ])
        }
    };

    // Provision the user on an open server, as SecantusDB (like mongod) asks, then restart it
    // (on the same storage) requiring authentication and TLS.
    {
        let mut open = secured(ServerKind::Secantus, base.clone());
        let client = mongodb::Client::with_uri_str(format!("mongodb://127.0.0.1:{}", open.port()))
            .await
            .unwrap();
        client
            .database("admin")
            .run_command(doc! {
                "createUser": "worker",
                "pwd": PASSWORD,
                "roles": [{ "role": "root", "db": "admin" }],
            })
            .await
            .unwrap();
        client.shutdown().await;
        open.stop();
    }
    let secured_store = secured(ServerKind::Secantus, {
        let d = d.clone();
        move |port| {
            let mut args = base(port);
            args.extend(strings(&[
                "--auth",
                "--tls-cert-file",
                &format!("{d}/server.pem"),
                "--tls-key-file",
                &format!("{d}/server.key"),
            ]));
            args
        }
    });
    let port = secured_store.port();
    let ca = format!("{d}/ca.pem");

    let archived = archive_one(&mongo_settings(port, PASSWORD, &ca))
        .await
        .expect("the right password and CA work");
    assert_eq!(archived, 1);

    let cases = [
        (
            "wrong password",
            mongo_settings(port, WRONG, &ca),
            &["uthentication", "auth"][..],
        ),
        (
            "untrusted server certificate",
            mongo_settings(port, PASSWORD, ""),
            &["certificate", "UnknownIssuer", "TLS", "tls"][..],
        ),
        (
            "plain text to a TLS server",
            MongoSettings {
                tls: false,
                ..mongo_settings(port, PASSWORD, "")
            },
            &["Server selection timeout", "connection", "closed", "reset"][..],
        ),
    ];
    for (what, settings, expect) in cases {
        let err = archive_one(&settings).await.expect_err(what);
        assert_clear_and_discreet(what, &err, expect, &d);
    }
}
