//! Replays PayRam webhook bodies through `payram_protocol` and `payram_domain`, in memory, and
//! prints what each did and what each customer is owed. See `README.md` beside this crate.

use std::{
    env, fs,
    io::{self, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use payram_domain::CreditPolicy;
use payram_example_consumer::{Receiver, TEST_KEY, parse_signatures};
use payram_protocol::ApiKeys;

const USAGE: &str = "\
Usage: payram_example_consumer [--key KEY]... [--vectors DIR]... [[--signature SIG] FILE]...

Authenticates, parses and applies PayRam webhook bodies to payments held in memory, then
prints one line per body and the total credited per customer.

Options:
  --key KEY        a project API key; repeat for several (default: the vectors' test key)
  --signature SIG  the X-Payram-Signature of the next FILE (default: the one given for that
                   file in a signatures.tsv in its directory or the one above)
  --vectors DIR    every body DIR/signatures.tsv lists, in its order, with its signature
  -h, --help       this text

With no FILE and no --vectors, replays the repository's copy of the PayRam sample bodies
(tests/fixtures/vectors).";

/// The repository's byte-for-byte copy of `../shared/vectors`.
const DEFAULT_VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/vectors");

/// One body to deliver.
struct Delivery {
    /// How the body is named in the output.
    name: String,
    body: Vec<u8>,
    signature: Option<String>,
}

/// Why the run stopped.
enum Failure {
    /// The arguments are wrong: print the usage.
    Usage(String),
    /// A file could not be read, or the output could not be written.
    Io(String),
}

fn main() -> ExitCode {
    let mut stderr = io::stderr();
    match run(env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            // Nothing more can be done when stderr itself fails.
            let _ = writeln!(stderr, "error: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Io(message)) => {
            let _ = writeln!(stderr, "error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: impl Iterator<Item = String>) -> Result<(), Failure> {
    let mut keys = Vec::new();
    let mut deliveries = Vec::new();
    let mut next_signature = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                return writeln!(io::stdout(), "{USAGE}")
                    .map_err(|err| Failure::Io(err.to_string()));
            }
            "--key" => keys.push(value(&mut args, "--key")?),
            "--signature" => next_signature = Some(value(&mut args, "--signature")?),
            "--vectors" => deliveries.extend(vectors(Path::new(&value(&mut args, "--vectors")?))?),
            option if option.starts_with('-') => {
                return Err(Failure::Usage(format!("unknown option {option}")));
            }
            file => deliveries.push(file_delivery(Path::new(file), next_signature.take())?),
        }
    }
    if next_signature.is_some() {
        return Err(Failure::Usage("--signature must be followed by the FILE it signs".into()));
    }
    if deliveries.is_empty() {
        deliveries = vectors(Path::new(DEFAULT_VECTORS))?;
    }
    if keys.is_empty() {
        keys.push(TEST_KEY.to_owned());
    }
    let keys = ApiKeys::new(&keys).map_err(|err| Failure::Usage(err.to_string()))?;

    let mut receiver = Receiver::new(keys, CreditPolicy::default());
    let mut out = io::stdout().lock();
    let io_error = |err: io::Error| Failure::Io(format!("cannot write the report: {err}"));
    for delivery in &deliveries {
        let receipt =
            receiver.receive(&delivery.body, delivery.signature.as_deref().map(str::as_bytes));
        writeln!(out, "{}: {receipt}", delivery.name).map_err(io_error)?;
    }
    writeln!(out).map_err(io_error)?;
    if receiver.credited().is_empty() {
        writeln!(out, "no customer credited").map_err(io_error)?;
    }
    for (customer_id, total) in receiver.credited() {
        writeln!(out, "customer {customer_id} credited {total}").map_err(io_error)?;
    }
    Ok(())
}

/// The value after an option.
fn value(args: &mut impl Iterator<Item = String>, option: &str) -> Result<String, Failure> {
    args.next().ok_or_else(|| Failure::Usage(format!("{option} needs a value")))
}

/// Every body `dir/signatures.tsv` lists, with its signature, in the table's order.
fn vectors(dir: &Path) -> Result<Vec<Delivery>, Failure> {
    let table = read_text(&dir.join("signatures.tsv"))?;
    parse_signatures(&table)
        .into_iter()
        .map(|(file, signature)| {
            Ok(Delivery {
                name: file.to_owned(),
                body: read(&dir.join(file))?,
                signature: Some(signature.to_owned()),
            })
        })
        .collect()
}

/// One body file; without an explicit signature, the one a `signatures.tsv` in its directory
/// or the one above gives it (so `vectors/negative/empty_body.json` finds its own).
fn file_delivery(path: &Path, signature: Option<String>) -> Result<Delivery, Failure> {
    let body = read(path)?;
    let signature = match signature {
        Some(signature) => Some(signature),
        None => listed_signature(path)?,
    };
    Ok(Delivery { name: path.display().to_string(), body, signature })
}

fn listed_signature(path: &Path) -> Result<Option<String>, Failure> {
    for dir in path.ancestors().skip(1).take(2) {
        let table_path =
            if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir.to_path_buf() }
                .join("signatures.tsv");
        if !table_path.is_file() {
            continue;
        }
        let Ok(relative) = path.strip_prefix(dir) else { continue };
        let relative: Vec<_> = relative.iter().map(|part| part.to_string_lossy()).collect();
        let relative = relative.join("/");
        let table = read_text(&table_path)?;
        let found = parse_signatures(&table)
            .into_iter()
            .find(|(file, _)| *file == relative)
            .map(|(_, signature)| signature.to_owned());
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    fs::read(path).map_err(|err| Failure::Io(format!("cannot read {}: {err}", path.display())))
}

fn read_text(path: &Path) -> Result<String, Failure> {
    fs::read_to_string(path)
        .map_err(|err| Failure::Io(format!("cannot read {}: {err}", path.display())))
}
