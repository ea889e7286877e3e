//! Settings: defaults, file, environment; errors name the bad key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use signal_worker::config::{ConfigError, LogFormat, Settings};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_valid() {
    let s = Settings::from_sources(None, env(&[])).unwrap();
    assert_eq!(s, Settings::default());
}

#[test]
fn the_documented_example_file_loads_and_equals_the_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/signal-worker.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let s = Settings::from_sources(Some((path, &text)), env(&[])).unwrap();
    // The example documents every default, so loading it changes nothing.
    assert_eq!(s, Settings::default());
    // And it mentions every section.
    let table = toml::Table::try_from(Settings::default()).unwrap();
    for section in table.keys() {
        assert!(
            text.contains(&format!("[{section}]")),
            "example lacks [{section}]"
        );
    }
}

#[test]
fn the_six_documented_variables_work_without_a_file() {
    let s = Settings::from_sources(
        None,
        env(&[
            ("SIGNAL_WORKER_NATS_URL", "nats://127.0.0.1:4999"),
            ("SIGNAL_WORKER_REDIS_URL", "redis://127.0.0.1:6999"),
            ("SIGNAL_WORKER_MONGODB_URL", "mongodb://127.0.0.1:27999"),
            ("SIGNAL_WORKER_METRICS_ADDR", "127.0.0.1:9999"),
            ("SIGNAL_WORKER_MODEL_DIR", "/tmp/m"),
            ("SIGNAL_WORKER_LOG", "debug"),
            ("UNRELATED", "ignored"),
        ]),
    )
    .unwrap();
    assert_eq!(s.nats.url, "nats://127.0.0.1:4999");
    assert_eq!(s.redis.url, "redis://127.0.0.1:6999");
    assert_eq!(s.mongodb.url, "mongodb://127.0.0.1:27999");
    assert_eq!(s.metrics.addr, "127.0.0.1:9999");
    assert_eq!(s.model.dir, "/tmp/m");
    assert_eq!(s.log.level, "debug");
}

#[test]
fn environment_overrides_the_file_and_is_typed() {
    let file = "[validation]\nmax_message_bytes = 2048\n[log]\nformat = \"json\"\n";
    let s = Settings::from_sources(Some(("f.toml", file)), env(&[])).unwrap();
    assert_eq!(s.validation.max_message_bytes, 2048);
    assert_eq!(s.log.format, LogFormat::Json);
    let s = Settings::from_sources(
        Some(("f.toml", file)),
        env(&[("SIGNAL_WORKER_VALIDATION_MAX_MESSAGE_BYTES", "8192")]),
    )
    .unwrap();
    assert_eq!(s.validation.max_message_bytes, 8192);
}

#[test]
fn errors_name_the_bad_key() {
    type Case<'a> = (Option<&'a str>, Vec<(String, String)>, &'a str);
    let cases: [Case; 9] = [
        (Some("[model]\nbackend = \"cuda\"\n"), env(&[]), "backend"),
        (
            None,
            env(&[("SIGNAL_WORKER_MODEL_ENGINE", "warp")]),
            "engine",
        ),
        (Some("[nats]\nurll = \"x\"\n"), env(&[]), "nats.urll"),
        (Some("[natz]\nurl = \"x\"\n"), env(&[]), "natz"),
        (
            Some("[validation]\nmax_message_bytes = \"big\"\n"),
            env(&[]),
            "validation.max_message_bytes",
        ),
        (
            Some("[validation]\nmax_message_bytes = 10\n"),
            env(&[]),
            "validation.max_message_bytes",
        ),
        (
            None,
            env(&[("SIGNAL_WORKER_NATS_URLL", "x")]),
            "SIGNAL_WORKER_NATS_URLL",
        ),
        (
            None,
            env(&[("SIGNAL_WORKER_SHUTDOWN_DEADLINE_MS", "soon")]),
            "SIGNAL_WORKER_SHUTDOWN_DEADLINE_MS",
        ),
        (
            None,
            env(&[("SIGNAL_WORKER_METRICS_ADDR", "not an address")]),
            "metrics.addr",
        ),
    ];
    for (file, vars, key) in cases {
        let err = Settings::from_sources(file.map(|f| ("f.toml", f)), vars).unwrap_err();
        assert!(err.to_string().contains(key), "{err} should name {key}");
    }
}

#[test]
fn bad_syntax_is_reported_with_the_file_name() {
    let err = Settings::from_sources(Some(("broken.toml", "[nats\n")), env(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }));
    assert!(err.to_string().contains("broken.toml"));
}

#[test]
fn partition_and_store_security_settings_are_checked() {
    let ok = Settings::from_sources(
        None,
        env(&[
            ("SIGNAL_WORKER_NATS_PARTITIONS", "8"),
            ("SIGNAL_WORKER_SERVE_PINNED_TTL_MS", "3000"),
            ("SIGNAL_WORKER_REDIS_URL", "rediss://127.0.0.1:6380"),
            ("SIGNAL_WORKER_REDIS_TLS_CA_FILE", "/etc/ca.pem"),
            ("SIGNAL_WORKER_MONGODB_USERNAME", "worker"),
            ("SIGNAL_WORKER_MONGODB_AUTH_MECHANISM", "SCRAM-SHA-256"),
        ]),
    )
    .unwrap();
    assert_eq!(ok.nats.partitions, 8);
    assert_eq!(ok.serve.pinned_ttl_ms, 3000);
    type Case<'a> = (Vec<(String, String)>, &'a str);
    let cases: [Case; 6] = [
        (
            env(&[("SIGNAL_WORKER_NATS_PARTITIONS", "5000")]),
            "nats.partitions",
        ),
        (
            env(&[
                ("SIGNAL_WORKER_NATS_PARTITIONS", "4"),
                ("SIGNAL_WORKER_SERVE_PINNED_TTL_MS", "300"),
            ]),
            "serve.pinned_ttl_ms",
        ),
        (
            env(&[("SIGNAL_WORKER_REDIS_TLS_CA_FILE", "/etc/ca.pem")]),
            "rediss://",
        ),
        (
            env(&[
                ("SIGNAL_WORKER_REDIS_URL", "rediss://127.0.0.1:6380"),
                ("SIGNAL_WORKER_REDIS_TLS_CERT_FILE", "/etc/c.pem"),
            ]),
            "redis.tls_key_file",
        ),
        (
            env(&[("SIGNAL_WORKER_MONGODB_PASSWORD", "x")]),
            "mongodb.username",
        ),
        (
            env(&[
                ("SIGNAL_WORKER_MONGODB_USERNAME", "worker"),
                ("SIGNAL_WORKER_MONGODB_AUTH_MECHANISM", "PLAIN"),
            ]),
            "mongodb.auth_mechanism",
        ),
    ];
    for (vars, key) in cases {
        let err = Settings::from_sources(None, vars).unwrap_err();
        assert!(err.to_string().contains(key), "{err} should name {key}");
    }
}

#[test]
fn sessions_in_a_file_replace_the_shipped_ones_and_bad_ones_are_refused() {
    let file =
        "[sequence.sessions.nyse]\ntime_zone = \"America/New_York\"\nwindows = [\"09:30-16:00\"]\n";
    let s = Settings::from_sources(Some(("f.toml", file)), env(&[])).unwrap();
    let names: Vec<&str> = s.sequence.sessions.keys().map(String::as_str).collect();
    assert_eq!(names, ["nyse"]);
    let nyse = &s.sequence.sessions["nyse"];
    assert_eq!(
        nyse.spec().weekdays,
        ["mon", "tue", "wed", "thu", "fri"],
        "Monday to Friday when left out"
    );
    assert!(Settings::default().sequence.sessions.contains_key("cffex"));
    for (bad, says) in [
        (
            "time_zone = \"Nowhere/Land\"\nwindows = [\"09:30-16:00\"]\n",
            "time_zone",
        ),
        ("time_zone = \"UTC\"\nwindows = [\"9.30-16\"]\n", "window"),
        ("time_zone = \"UTC\"\nwindows = []\n", "windows"),
        (
            "time_zone = \"UTC\"\nwindows = [\"09:30-16:00\"]\nopen = 1\n",
            "open",
        ),
    ] {
        let file = format!("[sequence.sessions.x]\n{bad}");
        let err = Settings::from_sources(Some(("f.toml", &file)), env(&[])).unwrap_err();
        assert!(err.to_string().contains(says), "{err} should name {says}");
    }
}
