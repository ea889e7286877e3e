//! `serve` against a nats-server that requires TLS (a private CA and a server certificate made
//! by the test) and a user/password: the worker connects with the right CA and credentials, and
//! fails fast with a clear error — never echoing the password — with wrong ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use local_servers::{Launch, Probe, ServerKind, ServerProcess};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_signal-worker");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PASSWORD: &str = "s3cret-pass-4f1e";

use crate::tls_support::certificates;

/// nats-server with JetStream, TLS and one user, through the one launcher (killed on drop).
fn secured_nats(dir: &Path) -> ServerProcess {
    let d = dir.display().to_string();
    let launch = Launch::new(Probe::Protocol, move |port, _| {
        let conf = format!(
            "listen: 127.0.0.1:{port}\njetstream {{ store_dir: \"{d}/js-{port}\" }}\n\
             tls {{ cert_file: \"{d}/server.pem\", key_file: \"{d}/server.key\" }}\n\
             authorization {{ user: worker, password: \"{PASSWORD}\" }}\n"
        );
        let path = format!("{d}/nats-{port}.conf");
        std::fs::write(&path, conf).unwrap();
        vec!["-c".to_owned(), path]
    });
    ServerProcess::start_with(ServerKind::Nats, launch).unwrap()
}

fn worker(port: u16, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .env("SIGNAL_WORKER_NATS_URL", format!("nats://127.0.0.1:{port}"))
        .env("SIGNAL_WORKER_MODEL_DIR", format!("{ROOT}/models/default"))
        .env("SIGNAL_WORKER_NATS_CONNECT_TIMEOUT_MS", "3000")
        .env("SIGNAL_WORKER_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs a worker that must give up on its own; returns its output and how long it took.
fn refused(port: u16, env: &[(&str, String)]) -> (Output, Duration) {
    let metrics = local_servers::free_port().unwrap();
    let started = Instant::now();
    let out = worker(port, env)
        .env("SIGNAL_WORKER_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
        .output()
        .unwrap();
    (out, started.elapsed())
}

/// A refused connection: what is wrong, the worker's environment, words its error must contain.
type Refusal = (
    &'static str,
    Vec<(&'static str, String)>,
    &'static [&'static str],
);

#[test]
fn the_worker_connects_with_the_right_ca_and_credentials_and_fails_fast_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let nats = secured_nats(dir.path());
    let ca = dir.path().join("ca.pem").display().to_string();
    let right = [
        ("SIGNAL_WORKER_NATS_TLS_CA_FILE", ca.clone()),
        ("SIGNAL_WORKER_NATS_USER", "worker".to_owned()),
        ("SIGNAL_WORKER_NATS_PASSWORD", PASSWORD.to_owned()),
    ];

    // Right CA and credentials: connected, streams made, ready.
    let metrics = local_servers::free_port().unwrap();
    let log = dir.path().join("worker.log");
    let mut child = worker(nats.port(), &right)
        .env("SIGNAL_WORKER_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = crate::serve_support::try_http_get(metrics, "/readyz").unwrap_or_default();
        if ready.contains("\"ready\":true") {
            break;
        }
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "not ready over TLS: {ready}\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains(PASSWORD), "the password was logged:\n{log}");

    // Wrong password, no credentials, no CA (the server's certificate is not trusted):
    // each exits non-zero within the connect timeout, saying why, without the password.
    let wrong = "not-the-password-9b2c";
    let cases: [Refusal; 3] = [
        (
            "wrong password",
            vec![
                ("SIGNAL_WORKER_NATS_TLS_CA_FILE", ca.clone()),
                ("SIGNAL_WORKER_NATS_USER", "worker".to_owned()),
                ("SIGNAL_WORKER_NATS_PASSWORD", wrong.to_owned()),
            ],
            &["authorization"],
        ),
        (
            "no credentials",
            vec![("SIGNAL_WORKER_NATS_TLS_CA_FILE", ca.clone())],
            &["authorization"],
        ),
        (
            "untrusted server certificate",
            vec![
                ("SIGNAL_WORKER_NATS_TLS_REQUIRED", "true".to_owned()),
                ("SIGNAL_WORKER_NATS_USER", "worker".to_owned()),
                ("SIGNAL_WORKER_NATS_PASSWORD", PASSWORD.to_owned()),
            ],
            &["certificate", "UnknownIssuer", "tls", "TLS"],
        ),
    ];
    for (what, env, expect) in cases {
        let (out, took) = refused(nats.port(), &env);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let reason = stderr.lines().last().unwrap_or("");
        eprintln!(
            "{what}: exit {:?} after {took:?}: {reason}",
            out.status.code()
        );
        assert!(
            !out.status.success(),
            "{what}: the worker started\n{stderr}"
        );
        assert!(
            took < Duration::from_secs(15),
            "{what}: took {took:?}\n{stderr}"
        );
        assert!(
            expect.iter().any(|e| stderr.contains(e)),
            "{what}: no clear reason in\n{stderr}"
        );
        assert!(
            !stderr.contains(PASSWORD) && !stderr.contains(wrong),
            "{what}: a password reached the log\n{stderr}"
        );
    }
}

#[test]
fn config_prints_secrets_as_stars_and_refuses_two_authentication_methods() {
    let out = Command::new(BIN)
        .arg("config")
        .env("SIGNAL_WORKER_NATS_USER", "worker")
        .env("SIGNAL_WORKER_NATS_PASSWORD", PASSWORD)
        .env(
            "SIGNAL_WORKER_REDIS_URL",
            format!("redis://u:{PASSWORD}@127.0.0.1:6379"),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("password = \"***\""), "{stdout}");
    assert!(!stdout.contains(PASSWORD), "{stdout}");

    let out = Command::new(BIN)
        .arg("config")
        .env("SIGNAL_WORKER_NATS_USER", "worker")
        .env("SIGNAL_WORKER_NATS_TOKEN", "tok")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("one NATS authentication method"),
        "{stderr}"
    );
}
