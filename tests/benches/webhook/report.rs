//! The printed results: one table of every row, then issue 9's targets next to the measured
//! values, each `met` or `not met`. Printed, never asserted. Integer arithmetic only (the
//! workspace warns on floats): latencies in microseconds, memory in KiB.

use std::fmt::Write as _;

use crate::{load::Measured, server::Memory};

/// Which process and which bodies a row measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Bare actix-web, unique API-Key bodies.
    Ceiling,
    /// The server, unique API-Key bodies: every one a new payment and a credit.
    Unique,
    /// The server, 30% of the requests repeating an acknowledged body.
    Dup30,
    /// The server, unique bodies signed with `X-Payram-Signature`.
    Signed,
}

impl Kind {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Ceiling => "ceiling",
            Self::Unique => "unique",
            Self::Dup30 => "dup30",
            Self::Signed => "signed",
        }
    }
}

/// One measured row.
pub(crate) struct Row {
    pub(crate) kind: Kind,
    pub(crate) connections: usize,
    pub(crate) measured: Measured,
    /// The process's memory after the load.
    pub(crate) memory: Memory,
}

impl Row {
    pub(crate) fn label(&self) -> String {
        format!("{}@{}", self.kind.name(), self.connections)
    }

    /// Answers per second.
    pub(crate) fn throughput(&self) -> u64 {
        let micros = u64::try_from(self.measured.elapsed.as_micros()).unwrap_or(u64::MAX).max(1);
        self.measured.answered().saturating_mul(1_000_000) / micros
    }

    /// The latency at `per_mille` (990 for p99), nearest rank, in microseconds.
    pub(crate) fn latency(&self, per_mille: usize) -> u64 {
        let sorted = &self.measured.latencies_us;
        let rank = (sorted.len() * per_mille).div_ceil(1000).saturating_sub(1);
        sorted.get(rank.min(sorted.len().saturating_sub(1))).copied().unwrap_or(0)
    }
}

/// The soak: one long unique load, memory read at its start, after its warm-up and at its end.
pub(crate) struct Soak {
    pub(crate) row: Row,
    pub(crate) start: Memory,
    pub(crate) warm: Memory,
}

/// `1234` µs as `1.23` (milliseconds).
pub(crate) fn ms(micros: u64) -> String {
    format!("{}.{:02}", micros / 1000, micros % 1000 / 10)
}

/// KiB as MB with one decimal.
pub(crate) fn mb(kib: u64) -> String {
    let tenths = kib * 10 / 1024;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// `part / whole` as `0.083x`, or `-` without a whole.
fn ratio(part: u64, whole: Option<u64>) -> String {
    match whole.filter(|whole| *whole > 0) {
        Some(whole) => {
            let thousandths = part * 1000 / whole;
            format!("{}.{:03}x", thousandths / 1000, thousandths % 1000)
        }
        None => "-".to_owned(),
    }
}

fn find(rows: &[Row], kind: Kind, connections: usize) -> Option<&Row> {
    rows.iter().find(|row| row.kind == kind && row.connections == connections)
}

/// The table, one line per row; `vs ceiling` is the ratio of throughputs at the same number
/// of connections.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<12} {:>5} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6} {:>9} {:>10}\n",
        "row",
        "conns",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "non-2xx",
        "errors",
        "peak RSS",
        "vs ceiling"
    );
    for row in rows {
        let ceiling = find(rows, Kind::Ceiling, row.connections).map(Row::throughput);
        let _ = writeln!(
            out,
            "{:<12} {:>5} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6} {:>6} MB {:>10}",
            row.label(),
            row.connections,
            row.measured.answered(),
            row.throughput(),
            ms(row.latency(500)),
            ms(row.latency(990)),
            ms(row.latency(999)),
            ms(row.measured.latencies_us.last().copied().unwrap_or(0)),
            row.measured.non_2xx(),
            row.measured.errors,
            mb(row.memory.peak_kib),
            ratio(row.throughput(), ceiling),
        );
    }
    for row in rows.iter().filter(|row| !row.measured.not_ok.is_empty() || row.measured.errors > 0)
    {
        let codes: Vec<String> =
            row.measured.not_ok.iter().map(|(code, n)| format!("{n} × {code}")).collect();
        let _ = write!(out, "  {}: answers other than 200: {}", row.label(), codes.join(", "));
        if let Some(error) = &row.measured.first_error {
            let _ = write!(out, "; {} errors, the first: {error}", row.measured.errors);
        }
        out.push('\n');
    }
    out
}

/// Issue 9's targets, each next to the figure it is judged on.
pub(crate) fn targets(rows: &[Row], soak: Option<&Soak>) -> String {
    let mut lines: Vec<(String, String, Option<bool>)> = Vec::new();
    let server_rows = || rows.iter().filter(|row| row.kind != Kind::Ceiling);

    let at_64 = find(rows, Kind::Unique, 64).zip(find(rows, Kind::Ceiling, 64));
    lines.push(match at_64 {
        Some((unique, ceiling)) => {
            let hundredths = unique.throughput() * 100 / ceiling.throughput().max(1);
            let value = format!(
                "{} = {}/s of {}/s",
                ratio(unique.throughput(), Some(ceiling.throughput())),
                unique.throughput(),
                ceiling.throughput()
            );
            let stretch = if hundredths >= 20 { " (stretch 0.20x met)" } else { "" };
            (format!("unique@64 at least 0.10x ceiling@64{stretch}"), value, Some(hundredths >= 10))
        }
        None => ("unique@64 at least 0.10x ceiling@64".to_owned(), "not measured".into(), None),
    });
    for connections in [16, 64] {
        let name = format!("p99 under 10 ms at {connections} connections (unique)");
        lines.push(match find(rows, Kind::Unique, connections) {
            Some(row) => {
                let p99 = row.latency(990);
                (name, format!("{} ms", ms(p99)), Some(p99 < 10_000))
            }
            None => (name, "not measured".into(), None),
        });
    }
    // The soak, when run, is part of the run.
    let small: Vec<&Row> = server_rows()
        .chain(soak.map(|soak| &soak.row))
        .filter(|row| [16, 64].contains(&row.connections))
        .collect();
    let not_ok: u64 = small.iter().map(|row| row.measured.not_ok.values().sum::<u64>()).sum();
    let errors: u64 = small.iter().map(|row| row.measured.errors).sum();
    lines.push((
        "only 200 answers at 16 and 64 connections".to_owned(),
        format!("{not_ok} other answers, {errors} errors in {} runs", small.len()),
        (!small.is_empty()).then_some(not_ok == 0 && errors == 0),
    ));
    lines.push(match find(rows, Kind::Unique, 256) {
        Some(row) => (
            "no 503 at 256 connections (unique)".to_owned(),
            format!("{} × 503, p99 {} ms", row.measured.count(503), ms(row.latency(990))),
            Some(row.measured.count(503) == 0),
        ),
        None => ("no 503 at 256 connections".to_owned(), "not measured".into(), None),
    });
    let mix = server_rows().find(|row| row.kind == Kind::Dup30);
    lines.push(match mix.and_then(|mix| Some((mix, find(rows, Kind::Unique, mix.connections)?))) {
        Some((mix, unique)) => (
            format!("{} at least as fast as {}", mix.label(), unique.label()),
            format!("{}/s vs {}/s", mix.throughput(), unique.throughput()),
            Some(mix.throughput() >= unique.throughput()),
        ),
        None => ("dup30 at least as fast as unique".to_owned(), "not measured".into(), None),
    });
    let peak =
        server_rows().chain(soak.map(|soak| &soak.row)).max_by_key(|row| row.memory.peak_kib);
    lines.push(match peak {
        Some(row) => (
            "peak RSS under 64 MB (server)".to_owned(),
            format!("{} MB ({})", mb(row.memory.peak_kib), row.label()),
            Some(row.memory.peak_kib < 64 * 1024),
        ),
        None => ("peak RSS under 64 MB".to_owned(), "not measured".into(), None),
    });
    lines.push(match soak {
        Some(soak) => {
            let end = soak.row.memory.rss_kib;
            (
                "RSS flat over the soak (end within 10% of warm)".to_owned(),
                format!(
                    "{} MB warm, {} MB end ({} MB at start)",
                    mb(soak.warm.rss_kib),
                    mb(end),
                    mb(soak.start.rss_kib)
                ),
                Some(end * 10 <= soak.warm.rss_kib * 11),
            )
        }
        None => ("RSS flat over a soak".to_owned(), "not run (BENCH_SOAK_SECONDS)".into(), None),
    });

    let mut out = String::from("targets (issue 9), judged on this run's figures:\n");
    for (target, value, met) in lines {
        let verdict = match met {
            Some(true) => "met",
            Some(false) => "not met",
            None => "-",
        };
        let _ = writeln!(out, "  {target:<58} {value:<48} {verdict}");
    }
    out
}
