//! The `payram-merchant` binary; everything lives in the library so tests can reach it.

fn main() -> std::process::ExitCode {
    payram_merchant::cli::main()
}
