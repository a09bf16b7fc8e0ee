//! Writes a synthetic retriever export for benchmarks and manual testing.
//!
//! cargo run --release --example generate -- ROWS [SEED] [--intrusion] > export.csv

use std::io::{self, BufWriter};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| {
        args.iter()
            .filter(|a| !a.starts_with("--"))
            .nth(i)
            .and_then(|a| a.replace('_', "").parse().ok())
            .unwrap_or(default)
    };
    let opts = o365scan_synth::Options {
        rows: number(0, 100_000) as usize,
        seed: number(1, 1),
        intrusion: args.iter().any(|a| a == "--intrusion"),
    };
    let stdout = io::stdout();
    let rows =
        o365scan_synth::write_export(BufWriter::with_capacity(1 << 20, stdout.lock()), &opts)?;
    eprintln!(
        "wrote {rows} rows (seed {}, intrusion {})",
        opts.seed, opts.intrusion
    );
    Ok(())
}
