//! `alertdesk`: with no command, the desktop app; with a command, the same CLI as `alertdesk-cli`.

mod bridge;
mod commands;
mod demo;
mod desktop;
mod tray;

use std::process::ExitCode;

use alertdesk_cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse_as("alertdesk");
    match cli.command {
        Some(command) => alertdesk_cli::run(&cli.global, command),
        None => desktop::run(&cli.global, &cli.desktop),
    }
}
