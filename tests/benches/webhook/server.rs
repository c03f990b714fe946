//! The processes under load: the release `payram-merchant` on a fresh SQLite file, and the
//! bare actix-web ceiling (`benches/ceiling.rs`), each built once and started once per row;
//! their memory read from `/proc`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};

use crate::load::KEY;

/// How long a process may take to print its address.
const START_LIMIT: Duration = Duration::from_mins(1);

type Error = Box<dyn std::error::Error>;

/// The two release executables.
pub(crate) struct Binaries {
    pub(crate) server: PathBuf,
    pub(crate) ceiling: PathBuf,
}

/// Builds both in release, with the cargo that runs this bench, into the target directory this
/// bench was built in (so `CARGO_TARGET_DIR` is honoured).
pub(crate) fn build() -> Result<Binaries, Error> {
    let target = target_dir()?;
    let mut command = payram_e2e::nested_cargo();
    let status = command
        .args(["build", "--release", "--locked", "--quiet"])
        .args(["-p", "payram_merchant", "--bin", "payram-merchant"])
        .args(["-p", "payram_e2e", "--example", "bench-ceiling"])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()?;
    if !status.success() {
        return Err("cargo build --release of payram-merchant and bench-ceiling failed".into());
    }
    let release = target.join("release");
    let exe = std::env::consts::EXE_SUFFIX;
    Ok(Binaries {
        server: release.join(format!("payram-merchant{exe}")),
        ceiling: release.join("examples").join(format!("bench-ceiling{exe}")),
    })
}

/// `target/` of this build: the bench executable lives in `target/release/deps/`.
fn target_dir() -> Result<PathBuf, Error> {
    let exe = std::env::current_exe()?;
    Ok(exe.ancestors().nth(3).ok_or("no target dir above target/release/deps")?.to_path_buf())
}

/// A running process under load; killed when dropped (with its database, if any).
pub(crate) struct Process {
    pub(crate) addr: SocketAddr,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

impl Process {
    /// The release server on a fresh database in `db_dir`, accepting `API-Key` and signatures.
    pub(crate) async fn server(binary: &Path, db_dir: Option<&Path>) -> Result<Self, Error> {
        let dir = match db_dir {
            Some(parent) => tempfile::tempdir_in(parent)?,
            None => tempfile::tempdir()?,
        };
        // Warnings (a 503's cause) go beside the database, out of the table; they are shown
        // only if the server does not start.
        let log = dir.path().join("server.log");
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env_clear()
            .env("PAYRAM_API_KEYS", KEY)
            .env("DATABASE_URL", dir.path().join("bench.db"))
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stderr(std::fs::File::create(&log)?);
        let started = start(command, "payram-merchant").await.map_err(|err| {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            format!("{err}; its log ends:\n{}", lines[lines.len().saturating_sub(20)..].join("\n"))
        })?;
        Ok(Self { _dir: Some(dir), ..started })
    }

    /// The bare actix-web ceiling.
    pub(crate) async fn ceiling(binary: &Path) -> Result<Self, Error> {
        let mut command = Command::new(binary);
        command.env_clear().stderr(Stdio::inherit());
        start(command, "bench-ceiling").await
    }

    /// The process's resident memory now (`VmRSS`) and at its peak (`VmHWM`), in KiB.
    pub(crate) fn memory(&self) -> Memory {
        self.child.id().map_or_else(Memory::default, Memory::of)
    }
}

/// Starts `command` (its stderr already set) and waits for its address on stdout.
async fn start(mut command: Command, name: &str) -> Result<Process, Error> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| format!("start {name}: {err}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let prefix = format!("{name} listening on http://");
    let addr = tokio::time::timeout(START_LIMIT, async {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(addr) = line.strip_prefix(&prefix) {
                return Ok::<_, Error>(addr.parse::<SocketAddr>()?);
            }
        }
        Err(format!("{name} exited before listening").into())
    })
    .await
    .map_err(|_| format!("{name} did not listen within {START_LIMIT:?}"))??;
    Ok(Process { addr, child, _dir: None })
}

/// Resident memory of a process, in KiB (zero when unknown).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Memory {
    pub(crate) rss_kib: u64,
    pub(crate) peak_kib: u64,
}

impl Memory {
    fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        Self { rss_kib: field("VmRSS:"), peak_kib: field("VmHWM:") }
    }
}

/// The machine, for the header of the table: cores, CPU model, and the file system the
/// databases live on (an fsync's cost is the disk's).
pub(crate) fn machine(db_dir: Option<&Path>) -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim()))
        .unwrap_or("unknown CPU");
    let dir = db_dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    format!("{cores} cores, {model}; databases in {} ({})", dir.display(), file_system(&dir))
}

/// The type of the file system holding `path`, from the longest matching mount point.
fn file_system(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(point).then(|| (point.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown file system".to_owned(), |(_, kind)| kind)
}

/// The commit measured, for the record (`git describe --always --dirty`).
pub(crate) fn revision() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|rev| !rev.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
