//! `alertdesk`: with no command, the desktop app; with a command, the same CLI as `alertdesk-cli`.

mod bridge;
mod commands;
mod demo;
mod desktop;
mod settings;
mod tray;
mod updates;
mod webview;

use std::process::ExitCode;

use alertdesk_cli::Cli;

fn main() -> ExitCode {
    // Before anything else, while this is the only thread: no other process may read this one's memory (its
    // environment included), and no thread, log or child process (the web view's included) may see the token.
    alertdesk_cli::harden_process();
    let secrets = alertdesk_cli::Secrets::take();
    let cli = Cli::parse_as("alertdesk");
    match cli.command {
        Some(command) => alertdesk_cli::run(&cli.global, command, secrets),
        None => desktop::run(&cli.global, &cli.desktop, secrets),
    }
}

#[cfg(test)]
mod tests {
    /// The id the notifications name (`desktop-entry`) is the one the package installs its desktop entry,
    /// metainfo and icons under: Tauri's `identifier`.
    #[test]
    fn the_tauri_identifier_is_the_app_id() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).expect("tauri.conf.json");
        assert_eq!(config["identifier"], alertdesk_core::APP_ID);
    }
}
