//! Redis and MongoDB that require a password and TLS (a private CA made by the test): the
//! worker's cache and archive clients work with the right settings, and fail with a clear error
//! that never contains the password with wrong ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod tls_support;

use common::archived_signal;

use mongodb::bson::doc;
use signal_worker::archive::Archive;
use signal_worker::cache::snapshots::SnapshotStore;
use signal_worker::config::secret::Secret;
use signal_worker::config::{MongoSettings, RedisSettings};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "st0re-pass-71c2";
const WRONG: &str = "wrong-pass-0a9d";

/// A server child process, killed on drop.
struct Server(Child);

impl Server {
    /// SIGTERM, then waits for the exit (so the server flushes what it stored).
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn spawn(binary: &Path, args: &[String], log: &Path) -> Server {
    let log = std::fs::File::create(log).unwrap();
    Server(
        Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    )
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
    tls_support::certificates(dir.path());
    let d = dir.path().display().to_string();
    let port = signal_worker::testkit::free_port().unwrap();
    let args: Vec<String> = [
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
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let binary = signal_worker::testkit::redis_server_binary().unwrap();
    let _redis = spawn(&binary, &args, &dir.path().join("redis.log"));
    wait_listening(port, "redis-server");
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
    tls_support::certificates(dir.path());
    let d = dir.path().display().to_string();
    let binary = signal_worker::testkit::secantus_binary().unwrap();
    let port = signal_worker::testkit::free_port().unwrap();
    let base: Vec<String> = [
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--storage-path",
        &format!("{d}/data"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    // Provision the user on an open server, as SecantusDB (like mongod) asks, then restart it
    // requiring authentication and TLS.
    {
        let open = spawn(&binary, &base, &dir.path().join("open.log"));
        wait_listening(port, "SecantusDB");
        let client = mongodb::Client::with_uri_str(format!("mongodb://127.0.0.1:{port}"))
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
    let secured_args = [
        base.clone(),
        [
            "--auth",
            "--tls-cert-file",
            &format!("{d}/server.pem"),
            "--tls-key-file",
            &format!("{d}/server.key"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    ]
    .concat();
    let _secured = spawn(&binary, &secured_args, &dir.path().join("secured.log"));
    wait_listening(port, "SecantusDB with auth and TLS");
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
