//! `make bench`: the webhook's throughput, latency and memory on the release binary over real
//! HTTP with a real SQLite file (WAL, `synchronous=FULL`), next to a bare actix-web ceiling
//! measured in the same run with the same load generator. Issue 9's targets are printed beside
//! the figures, never asserted: figures depend on the machine (its disk's fsync above all).
//!
//! Rows, each on a fresh process (a fresh database for the server), loaded for `BENCH_SECONDS`
//! (default 5) by closed-loop keep-alive connections:
//! - `ceiling@N`: bare actix-web (`benches/ceiling.rs`), at each connection count;
//! - `unique@N`: the server, each body a new FILLED payment (a credit), `API-Key` authenticated;
//! - `dup30@64`: as unique, but 3 requests in 10 repeat a body already acknowledged;
//! - `signed@64`: as unique, authenticated by `X-Payram-Signature` instead.
//!
//! `BENCH_CONNECTIONS` replaces the list 16,64,256 (the mixes run at 64 if listed, else at the
//! last); `BENCH_SOAK_SECONDS` adds a soak of unique@64 for that long, printing the server's
//! RSS as it goes; `BENCH_CLIENT_THREADS` sets the generator's threads (default 1, leaving the
//! other cores to the server); `BENCH_DB_DIR` sets where the databases go (default the system
//! temporary directory). Exits non-zero only when the bench itself cannot run.

#![expect(clippy::print_stdout, reason = "a measuring program: its output is the figures")]

mod load;
mod report;
mod server;

use std::{
    path::PathBuf,
    process::ExitCode,
    sync::{Arc, atomic::AtomicU64},
    time::{Duration, Instant},
};

use load::{Auth, Load, Workload};
use report::{Kind, Row, Soak, mb};
use server::{Binaries, Memory, Process};

type Error = Box<dyn std::error::Error>;

struct Settings {
    duration: Duration,
    connections: Vec<usize>,
    soak: Option<Duration>,
    client_threads: usize,
    db_dir: Option<PathBuf>,
}

impl Settings {
    fn from_env() -> Result<Self, Error> {
        let connections = match variable("BENCH_CONNECTIONS") {
            Some(list) => list
                .split(',')
                .map(|n| n.trim().parse::<usize>().ok().filter(|n| *n > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("BENCH_CONNECTIONS={list}: expected e.g. 16,64,256"))?,
            None => vec![16, 64, 256],
        };
        let client_threads = match variable("BENCH_CLIENT_THREADS") {
            Some(n) => n.parse::<usize>().map_err(|err| format!("BENCH_CLIENT_THREADS: {err}"))?,
            None => 1,
        };
        Ok(Self {
            duration: seconds("BENCH_SECONDS")?.unwrap_or(Duration::from_secs(5)),
            connections,
            soak: seconds("BENCH_SOAK_SECONDS")?.filter(|soak| !soak.is_zero()),
            client_threads: client_threads.max(1),
            db_dir: variable("BENCH_DB_DIR").map(PathBuf::from),
        })
    }

    /// Where the mixes and the soak run: 64 connections when listed, else the last listed.
    fn mix_connections(&self) -> usize {
        if self.connections.contains(&64) {
            64
        } else {
            self.connections.last().copied().unwrap_or(64)
        }
    }
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|value| value.trim().to_owned()).filter(|value| !value.is_empty())
}

/// A duration in seconds, fractions allowed (`BENCH_SECONDS=0.5`).
fn seconds(name: &str) -> Result<Option<Duration>, Error> {
    variable(name)
        .map(|value| {
            let seconds = value.parse::<f64>().map_err(|err| format!("{name}={value}: {err}"))?;
            Ok(Duration::try_from_secs_f64(seconds).map_err(|err| format!("{name}: {err}"))?)
        })
        .transpose()
}

fn main() -> ExitCode {
    let result = Settings::from_env().and_then(|settings| {
        let binaries = server::build()?;
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(settings.client_threads)
            .enable_all()
            .build()?
            .block_on(bench(&settings, &binaries))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("the webhook bench could not run: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(settings: &Settings, binaries: &Binaries) -> Result<(), Error> {
    let mix = settings.mix_connections();
    println!("payram-merchant webhook bench (issue 9), revision {}", server::revision());
    println!("machine: {}", server::machine(settings.db_dir.as_deref()));
    println!(
        "each row: {:?} of closed-loop keep-alive HTTP/1.1 from a {}-thread generator, on a fresh \
         process (the server on a fresh SQLite file: WAL, synchronous=FULL)",
        settings.duration, settings.client_threads
    );
    println!(
        "bodies: PayRam FILLED notifications, each a new payment and a credit, API-Key \
         authenticated; dup30: 3 requests in 10 repeat an acknowledged body; signed: \
         X-Payram-Signature"
    );
    let mut plan: Vec<(Kind, usize)> = Vec::new();
    plan.extend(settings.connections.iter().map(|&n| (Kind::Ceiling, n)));
    plan.extend(settings.connections.iter().map(|&n| (Kind::Unique, n)));
    plan.extend([(Kind::Dup30, mix), (Kind::Signed, mix)]);
    let mut rows = Vec::with_capacity(plan.len());
    for (kind, connections) in plan {
        let started = Instant::now();
        let row = measure(binaries, settings, kind, connections).await?;
        eprintln!("  measured {} in {:.1?}", row.label(), started.elapsed());
        rows.push(row);
    }
    println!();
    print!("{}", report::table(&rows));
    let soak = match settings.soak {
        Some(duration) => Some(soak(binaries, settings, mix, duration).await?),
        None => None,
    };
    println!();
    print!("{}", report::targets(&rows, soak.as_ref()));
    Ok(())
}

fn workload(kind: Kind) -> Workload {
    Workload {
        auth: if kind == Kind::Signed { Auth::Signature } else { Auth::ApiKey },
        duplicates_in_ten: if kind == Kind::Dup30 { 3 } else { 0 },
    }
}

async fn start(binaries: &Binaries, settings: &Settings, kind: Kind) -> Result<Process, Error> {
    match kind {
        Kind::Ceiling => Process::ceiling(&binaries.ceiling).await,
        _ => Process::server(&binaries.server, settings.db_dir.as_deref()).await,
    }
}

async fn measure(
    binaries: &Binaries,
    settings: &Settings,
    kind: Kind,
    connections: usize,
) -> Result<Row, Error> {
    let process = start(binaries, settings, kind).await?;
    let load = Load {
        addr: process.addr,
        connections,
        duration: settings.duration,
        workload: workload(kind),
        progress: Arc::default(),
    };
    let measured = load::run(load).await;
    Ok(Row { kind, connections, measured, memory: process.memory() })
}

/// unique@`connections` for `duration` on one fresh server, its RSS printed every tenth of the
/// way; the first of those readings is the warmed-up one the end is compared with.
async fn soak(
    binaries: &Binaries,
    settings: &Settings,
    connections: usize,
    duration: Duration,
) -> Result<Soak, Error> {
    let process = start(binaries, settings, Kind::Unique).await?;
    let start = process.memory();
    println!();
    println!("soak: unique@{connections} for {duration:?} on a fresh database");
    println!("  {:>7}  {:>10}  {:>9}  {:>9}", "elapsed", "answers", "RSS", "peak RSS");
    soak_line(Duration::ZERO, 0, start, "start, before any request");
    let progress = Arc::new(AtomicU64::new(0));
    let load = Load {
        addr: process.addr,
        connections,
        duration,
        workload: workload(Kind::Unique),
        progress: Arc::clone(&progress),
    };
    let mut running = tokio::spawn(load::run(load));
    let step = (duration / 10).max(Duration::from_secs(1));
    let started = Instant::now();
    let mut warm = None;
    let measured = loop {
        tokio::select! {
            joined = &mut running => break joined?,
            () = tokio::time::sleep(step) => {
                let now = process.memory();
                let answers = progress.load(std::sync::atomic::Ordering::Relaxed);
                let note = if warm.is_some() { "" } else { "after warm-up" };
                soak_line(started.elapsed(), answers, now, note);
                warm.get_or_insert(now);
            }
        }
    };
    let row = Row { kind: Kind::Unique, connections, measured, memory: process.memory() };
    soak_line(started.elapsed(), row.measured.answered(), row.memory, "end");
    print!("{}", report::table(std::slice::from_ref(&row)));
    Ok(Soak { row, start, warm: warm.unwrap_or(start) })
}

fn soak_line(elapsed: Duration, answers: u64, memory: Memory, note: &str) {
    let line = format!(
        "  {:>5} s  {answers:>10}  {:>6} MB  {:>6} MB  {note}",
        elapsed.as_secs(),
        mb(memory.rss_kib),
        mb(memory.peak_kib)
    );
    println!("{}", line.trim_end());
}
