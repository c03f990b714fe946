//! Rebuilds the crate when a migration changes: `embed_migrations!` alone does not notice.

fn main() {
    println!("cargo::rerun-if-changed=../../migrations/sqlite");
}
