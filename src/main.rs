use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = o365scan::cli::Cli::parse();
    match o365scan::run(cli) {
        Ok(code) => code,
        Err(e) if o365scan::error::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("o365scan: error: {e:#}");
            o365scan::error::exit_code_for(&e)
        }
    }
}
