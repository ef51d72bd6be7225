//! `alertdesk-cli`: the headless binary. Same commands as `alertdesk`, without any desktop library.

use std::process::ExitCode;

use alertdesk_cli::Cli;

fn main() -> ExitCode {
    // Before anything else, while this is the only thread: no other process may read this one's memory (its
    // environment included), and no thread, log or child process may see the token.
    alertdesk_cli::harden_process();
    let secrets = alertdesk_cli::Secrets::take();
    let cli = Cli::parse_as("alertdesk-cli");
    let Some(command) = cli.command else {
        if cli.desktop.profile.is_some() {
            eprintln!(
                "alertdesk-cli: --profile without a command opens the desktop app, which is `alertdesk`; \
                 to listen headless: alertdesk-cli listen --profile NAME --server URL"
            );
            return ExitCode::from(alertdesk_cli::EXIT_USAGE);
        }
        eprintln!(
            "alertdesk-cli: a command is required (see --help); the desktop app is `alertdesk`"
        );
        return ExitCode::from(alertdesk_cli::EXIT_USAGE);
    };
    alertdesk_cli::run(&cli.global, command, secrets)
}
