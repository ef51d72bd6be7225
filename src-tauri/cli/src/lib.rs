//! The command line of both Alertdesk binaries.
//!
//! `alertdesk` (the desktop app) and `alertdesk-cli` (headless, no desktop libraries) parse the same [`Cli`] and
//! run subcommands through the same [`run`], so flags, output and exit codes cannot drift apart. The desktop binary
//! opens its window only when no subcommand is given.
//!
//! Exit codes: 0 success (and Ctrl-C/SIGTERM), 1 runtime failure, 2 bad usage or invalid input (including an
//! invalid profile), 3 the server rejected the credentials, 75 a response is kept in the outbox because the
//! server did not take it yet (it is sent when Alertdesk next reaches the server).

mod commands;
pub mod generate;
pub mod logging;

use std::path::PathBuf;
use std::process::ExitCode;

use alertdesk_core::config::layers::Effective;
use alertdesk_core::config::paths::{Paths, DATA_DIR_ENV};
use alertdesk_core::domain::Token;
use alertdesk_core::link::auth::TOKEN_ENV;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// The desktop app's binary (with no command it opens the window).
pub const DESKTOP_BIN: &str = "alertdesk";

/// The headless binary (no desktop libraries).
pub const HEADLESS_BIN: &str = "alertdesk-cli";

/// What both binaries say they are, first in their help and manual pages.
const ABOUT: &str = "Alerts from your department's backend, delivered once, fast and loud";

/// Exit code for bad usage or invalid input (clap uses the same for argument errors).
pub const EXIT_USAGE: u8 = 2;

/// Exit code when the server rejects the credentials.
pub const EXIT_AUTH: u8 = 3;

/// Exit code when a response waits in the outbox: the server could not be reached or failed (EX_TEMPFAIL).
pub const EXIT_QUEUED: u8 = 75;

pub use commands::acknowledge::{AcknowledgeArgs, Reach, RespondArgs};
pub use commands::demo::DemoArgs;
pub use commands::history::{HistoryArgs, MarkReadArgs};
pub use commands::listen::ListenArgs;
pub use commands::login::{LoginArgs, LogoutArgs};
pub use commands::net::{network, NetArgs, ProxyCommand};
pub use commands::profile::ProfileCommand;
pub use commands::settings::{SettingsAction, SettingsArgs};
pub use commands::token::TokenArgs;
pub use commands::{lock_data_dir, open_store, OpenedStore};

/// This program's name as it was started (`alertdesk` or `alertdesk-cli`), for messages and the lock file.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "alertdesk".into())
}

/// Makes this process non-dumpable (Linux): no core file, and no other process of the user (a debugger, or
/// anything reading `/proc/PID/environ` or `/proc/PID/mem`) may look into its memory, where tokens are. Call it
/// first thing in `main`, before any thread starts. A failure is said on stderr and does not stop the program.
pub fn harden_process() {
    #[cfg(target_os = "linux")]
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        eprintln!("alertdesk: warning: cannot keep other processes out of this one's memory: {e}");
    }
}

/// Secrets taken out of the environment before anything else runs (no thread yet, no log, no child process):
/// no thread, log line or child process of Alertdesk ever sees them.
#[derive(Debug, Default)]
pub struct Secrets {
    /// `ALERTDESK_TOKEN`, if it was set (and not empty).
    pub token: Option<Token>,
}

impl Secrets {
    /// Takes `ALERTDESK_TOKEN` out of this process's environment. Call it first thing in `main`.
    pub fn take() -> Self {
        let token = std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.is_empty())
            .map(Token::new);
        std::env::remove_var(TOKEN_ENV);
        Self { token }
    }
}

/// Alertdesk: alerts from your department's backend, delivered once, fast and loud.
#[derive(Debug, Parser)]
#[command(
    name = "alertdesk",
    version,
    about = ABOUT,
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Options of the desktop app (no command).
    #[command(flatten)]
    pub desktop: DesktopArgs,
    /// What to do; without one, `alertdesk` opens the desktop app.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// [`Cli`] without the desktop app's options: `alertdesk-cli` as documented.
#[derive(Debug, Parser)]
#[command(
    version,
    about = ABOUT,
    long_about = None,
    propagate_version = true
)]
struct Headless {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Options shared by every command and the desktop app.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Keep settings, data and logs under DIR instead of the XDG directories.
    #[arg(long, global = true, value_name = "DIR", env = DATA_DIR_ENV)]
    pub data_dir: Option<PathBuf>,
}

/// `alertdesk [--profile P --server URL [--set K=V]]`: the desktop app, optionally already connected.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Desktop app (no command)")]
pub struct DesktopArgs {
    /// Connect to this backend at start, for this run only (built-in profile name or a profile file); the
    /// token comes from the OS keyring or ALERTDESK_TOKEN.
    #[arg(long, short = 'p', value_name = "NAME|FILE", requires = "server")]
    pub profile: Option<String>,
    /// The backend to connect to at start, e.g. http://127.0.0.1:8080.
    #[arg(long, short = 's', value_name = "URL", requires = "profile")]
    pub server: Option<String>,
    /// Set a profile variable for --profile, e.g. --set station_id=4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = commands::parse_key_value, requires = "profile")]
    pub set: Vec<(String, String)>,
    /// Start with the window hidden in the tray (how Alertdesk starts at login); a running Alertdesk stays as
    /// it is.
    #[arg(long)]
    pub hidden: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to a backend and print alerts as they arrive (duty mode without the window).
    Listen(ListenArgs),
    /// Show the alert history (newest first; unread ones marked *).
    History(HistoryArgs),
    /// Mark an alert (or all of them) read.
    MarkRead(MarkReadArgs),
    /// Acknowledge an alert, in the history and (where the profile says how) on the server.
    Acknowledge(AcknowledgeArgs),
    /// Send a status response about an alert (en route, on scene, ...: the ones its profile declares).
    Respond(RespondArgs),
    /// Sign in to a backend; the token is stored in the OS keyring.
    Login(LoginArgs),
    /// Remove a backend's token from the OS keyring.
    Logout(LogoutArgs),
    /// The [network] proxy's password in the OS keyring, and which way a URL goes (direct or which proxy).
    #[command(subcommand)]
    Proxy(ProxyCommand),
    /// List, check or show profiles (how Alertdesk talks to each kind of backend).
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Run the built-in demo backend on 127.0.0.1 (try Alertdesk with no department backend).
    Demo(DemoArgs),
    /// Print where Alertdesk keeps settings, data and logs, and where it reads the department's files.
    Paths(PathsArgs),
    /// Print every setting in effect and where it came from (default, department, yours, locked); check a
    /// settings file; change one (set, unset).
    Settings(SettingsArgs),
}

/// `alertdesk paths`
#[derive(Debug, Args)]
pub struct PathsArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    /// The command line of binary `bin` (`alertdesk` or `alertdesk-cli`), as its help, completions and manual
    /// pages show it.
    pub fn command_as(bin: &'static str) -> clap::Command {
        let mut command = Self::command().name(bin).bin_name(bin);
        if bin != DESKTOP_BIN {
            // Only the desktop binary has a window to connect at start.
            for arg in ["profile", "server", "set", "hidden"] {
                command = command.mut_arg(arg, |a| a.hide(true));
            }
        }
        command
    }

    /// The command line of binary `bin` as its completions and manual pages describe it: what its help shows.
    /// (Completion scripts would offer hidden arguments too, such as the desktop options `alertdesk-cli` only
    /// accepts to explain that they are the desktop app's.)
    pub fn documented_as(bin: &'static str) -> clap::Command {
        if bin == DESKTOP_BIN {
            Self::command_as(bin).long_about(
                "With no command, alertdesk opens the desktop app: a window with the live alert list, a tray \
                 icon with the unread count, and native notifications with sound; --profile and --server \
                 connect a backend at start, for this run only. With a command, it runs that command the way \
                 alertdesk-cli does.",
            )
        } else {
            Headless::command().name(bin).bin_name(bin).long_about(
                "alertdesk-cli is Alertdesk without the desktop: it listens to a backend and prints its alerts \
                 (listen, with --notify for native notifications with sound), signs in and out, reads and \
                 answers the alert history, and checks profiles and settings. It links no desktop library, so \
                 it runs on servers and over SSH. The package's alertdesk-listen.service runs the listener as \
                 a systemd user service.",
            )
        }
    }

    /// Parses the process arguments, naming the program `bin` in help and errors. Exits on `--help`,
    /// `--version` and usage errors (code 2), as clap does.
    pub fn parse_as(bin: &'static str) -> Self {
        let mut command = Self::command_as(bin);
        let matches = command.get_matches_mut();
        let cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if cli.command.is_some() && cli.desktop.hidden {
            command
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "--hidden is the desktop app's (with no command): it starts the window hidden in the tray",
                )
                .exit();
        }
        if cli.command.is_some() && cli.desktop.profile.is_some() {
            // `alertdesk --profile P listen ...`: the desktop's --profile cannot go with a command.
            command
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "--profile/--server/--set before a command are the desktop app's; put them after the \
                     command (e.g. `listen --profile NAME`)",
                )
                .exit();
        }
        cli
    }
}

/// Runs one subcommand and returns the process exit code.
pub fn run(global: &GlobalArgs, command: Command, secrets: Secrets) -> ExitCode {
    match dispatch(global, command, secrets) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("alertdesk: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(global: &GlobalArgs, command: Command, secrets: Secrets) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve(global.data_dir.as_deref())?;
    let _log_guard = matches!(
        command,
        Command::Listen(_)
            | Command::Login(_)
            | Command::Logout(_)
            | Command::Demo(_)
            | Command::Acknowledge(_)
            | Command::Respond(_)
            | Command::Profile(ProfileCommand::Probe(_))
    )
    .then(|| start_logging(&paths))
    .flatten();
    match command {
        Command::Listen(args) => Ok(commands::listen::run(&args, &paths, secrets)),
        Command::History(args) => Ok(commands::history::history(&args, &paths)),
        Command::MarkRead(args) => Ok(commands::history::mark_read(&args, &paths)),
        Command::Acknowledge(args) => {
            Ok(commands::acknowledge::acknowledge(&args, &paths, secrets))
        }
        Command::Respond(args) => Ok(commands::acknowledge::respond(&args, &paths, secrets)),
        Command::Login(args) => Ok(commands::login::login(&args, &paths)),
        Command::Logout(args) => Ok(commands::login::logout(&args)),
        Command::Proxy(cmd) => Ok(commands::net::run(&cmd, &paths)),
        Command::Profile(cmd) => Ok(commands::profile::run(&cmd, &paths, secrets)),
        Command::Demo(args) => Ok(commands::demo::run(&args)),
        Command::Paths(args) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&paths)?);
            } else {
                println!("config  {}", paths.config_dir.display());
                println!("data    {}", paths.data_dir.display());
                println!("logs    {}", paths.log_dir.display());
                for dir in &paths.system_dirs {
                    println!("system  {}", dir.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Settings(args) => Ok(commands::settings::run(&args, &paths)),
    }
}

/// The settings in effect for a command that runs (the department's files and the user's); what was left out or
/// ignored is logged (call it once logging runs).
pub fn log_settings_problems(effective: &Effective) {
    for problem in &effective.problems {
        tracing::error!("settings ignored: {problem}");
    }
    for ignored in &effective.ignored {
        tracing::warn!("{ignored}");
    }
}

/// File logging for commands that talk to servers (warnings also on stderr). A broken settings file is left out
/// with an error in the log: it must not stop a listener on duty.
fn start_logging(paths: &Paths) -> Option<logging::Guard> {
    if let Err(e) = paths.create_all() {
        eprintln!("alertdesk: warning: {e}; logging to stderr only");
    }
    let effective = Effective::load(paths);
    let guard = logging::init(paths, &effective.settings.log, logging::Console::Quiet);
    effective.settings.network.apply();
    log_settings_problems(&effective);
    guard
}

#[cfg(test)]
mod tests {
    use alertdesk_core::domain::Token;
    use clap::Parser;

    use super::{Cli, Secrets};

    #[test]
    fn secrets_and_arguments_never_show_a_token_in_debug() {
        let secrets = Secrets {
            token: Some(Token::new("env-S3CRET")),
        };
        assert!(!format!("{secrets:?}").contains("S3CRET"));
        // A token written on the command line is refused when the command runs; until then it must not show.
        for args in [
            &[
                "alertdesk",
                "listen",
                "--profile",
                "demo",
                "--token",
                "arg-S3CRET",
            ][..],
            &["alertdesk", "acknowledge", "r-1", "--token", "arg-S3CRET"][..],
            &[
                "alertdesk",
                "respond",
                "r-1",
                "en_route",
                "--token",
                "arg-S3CRET",
            ][..],
            &[
                "alertdesk",
                "profile",
                "probe",
                "--server",
                "http://127.0.0.1:9",
                "--token",
                "arg-S3CRET",
            ][..],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            let shown = format!("{cli:?}");
            assert!(!shown.contains("S3CRET"), "{shown}");
        }
    }
}
