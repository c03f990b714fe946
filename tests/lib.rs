//! Black-box end-to-end tests live in `e2e/`, the benchmarks in `benches/`; this library holds
//! only what both need.

/// A `cargo` command for a nested build of the server, run by the cargo that runs this test or
/// bench.
///
/// Cargo gives a test or bench process the variables of the package under test
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...). Build scripts that watch them (ring's does)
/// would see them change between the nested build and the outer one and rebuild every time, so
/// the nested build gets the environment the outer cargo saw.
#[must_use]
pub fn nested_cargo() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || ["CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"]
                .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    command
}
