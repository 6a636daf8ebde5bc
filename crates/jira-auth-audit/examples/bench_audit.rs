//! Runs the audit bench (`xtask/src/bench.rs`) until `cargo xtask bench audit` is wired:
//! `cargo run --release -p jira-auth-audit --example bench_audit`.

#[path = "../../../xtask/src/bench.rs"]
mod bench;

fn main() -> anyhow::Result<()> {
    bench::bench_audit()
}
