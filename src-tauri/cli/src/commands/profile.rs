//! `alertdesk profile list|check|show`.

use std::process::ExitCode;

use alertdesk_core::profile::{self, Profile, Protocol};
use clap::Subcommand;
use serde_json::json;

use super::usage_error;

/// `alertdesk profile ...`
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the built-in profiles.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check profile files: unknown keys, bad templates and undeclared variables are errors with line numbers.
    Check {
        /// Profile files to check.
        #[arg(value_name = "FILE", required = true)]
        files: Vec<String>,
    },
    /// Connect to a server, watch its events and fetch its lists, held against a profile: what it speaks, what
    /// does not fit, and (--write) an override profile that fixes what it can.
    Probe(super::probe::ProbeArgs),
    /// Print a profile's TOML: a built-in's (a starting point for your own), or a file's merged with the
    /// profile it `extends`.
    Show {
        /// A built-in profile's name, or a profile file.
        #[arg(value_name = "NAME|FILE")]
        name: String,
    },
}

pub(crate) fn run(
    command: &ProfileCommand,
    paths: &alertdesk_core::config::paths::Paths,
    secrets: crate::Secrets,
) -> ExitCode {
    match command {
        ProfileCommand::Probe(args) => super::probe::run(args, paths, secrets),
        ProfileCommand::List { json } => {
            for p in Profile::builtins() {
                let protocol = match p.protocol {
                    Protocol::Socketio => "socketio",
                    Protocol::Websocket => "websocket",
                };
                if *json {
                    let vars: Vec<_> = p.variables.keys().collect();
                    println!(
                        "{}",
                        json!({"name": p.name, "protocol": protocol, "description": p.description, "variables": vars})
                    );
                } else {
                    println!("{:<20} {:<10} {}", p.name, protocol, p.description);
                }
            }
            ExitCode::SUCCESS
        }
        ProfileCommand::Check { files } => {
            let mut failed = false;
            for file in files {
                match Profile::load(file) {
                    Ok(p) => println!("{file}: ok (profile {}, {} rules)", p.name, p.rules.len()),
                    Err(e) => {
                        eprintln!("{e}");
                        failed = true;
                    }
                }
            }
            if failed {
                ExitCode::from(crate::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            }
        }
        ProfileCommand::Show { name } => match Profile::merged_text(name) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e)
                if profile::builtin_source(name).is_none()
                    && !std::path::Path::new(name).exists() =>
            {
                usage_error(format!(
                    "no built-in profile or file {name:?} (see `alertdesk profile list`): {e}"
                ))
            }
            Err(e) => usage_error(e),
        },
    }
}
