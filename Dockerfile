# Multi-stage build: compile in the Rust image, run in a small Debian runtime.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crates ./crates
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin signal-worker

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app worker
WORKDIR /app
COPY --from=build /src/target/release/signal-worker /usr/local/bin/signal-worker
COPY models ./models
COPY data ./data
COPY signal-worker.example.toml ./signal-worker.toml
USER worker
ENTRYPOINT ["/usr/local/bin/signal-worker"]
CMD ["--config", "/app/signal-worker.toml", "serve"]
