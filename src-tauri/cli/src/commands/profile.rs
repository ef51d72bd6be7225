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
    /// Print a built-in profile's TOML (a starting point for your own).
    Show {
        /// The built-in profile.
        #[arg(value_name = "NAME")]
        name: String,
    },
}

pub(crate) fn run(command: &ProfileCommand) -> ExitCode {
    match command {
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
        ProfileCommand::Show { name } => match profile::builtin_source(name) {
            Some(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            None => usage_error(format!(
                "no built-in profile {name:?} (see `alertdesk profile list`)"
            )),
        },
    }
}
