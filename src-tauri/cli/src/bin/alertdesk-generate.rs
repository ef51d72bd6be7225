//! `alertdesk-generate --out DIR`: writes the shell completions and manual pages of `alertdesk` and
//! `alertdesk-cli` under `DIR` as the package installs them (see [`alertdesk_cli::generate`]). A build tool for
//! `scripts/release`; not installed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Write the shell completions and manual pages of alertdesk and alertdesk-cli under a directory.
#[derive(Debug, Parser)]
#[command(version, long_about = None)]
struct Args {
    /// The root to write under, e.g. a package's staging tree (created when missing; files there are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match alertdesk_cli::generate::generate(&args.out) {
        Ok(files) => {
            println!(
                "Wrote {} completion and manual files under {}.",
                files.len(),
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "alertdesk-generate: cannot write under {}: {e}",
                args.out.display()
            );
            ExitCode::FAILURE
        }
    }
}
