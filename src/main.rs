//! The `signal-worker` binary: parse the command line and delegate.

/// jemalloc instead of glibc's malloc (measured in BENCHMARKS.md, "Allocator"): the serve loop
/// allocates per batch and per candle, and glibc's allocator took 16 % of the worker's CPU in a
/// profile. jemalloc sustains 17 % more candles/s at 1,000 series (31 % at 10,000) for 5 % more
/// peak RSS at 10,000 series; mimalloc was as fast but held 20-130 % more memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read at its start (`MALLOC_CONF`, prefixed `_RJEM_` by this build, still
/// overrides them): one arena — the worker's threads take turns on batches, and an arena per core
/// kept memory resident for nothing — and freed pages returned within a second.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> std::process::ExitCode {
    signal_worker::cli::run()
}
