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
    for service in ["nats:", "redis:", "mongo:", "prometheus:", "worker:"] {
        assert!(text.contains(service), "compose lacks {service}");
    }
}

#[test]
fn the_dockerfile_is_multi_stage_and_runs_unprivileged() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(text.matches("\nFROM ").count() + usize::from(text.starts_with("FROM ")) >= 2);
    assert!(text.contains("COPY --from=build"));
    assert!(text.contains("USER worker"));
}
