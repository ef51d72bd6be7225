//! `alertdesk settings`: the settings in effect and where each came from (the defaults, the department's system
//! files, the user's file, locked keys); `settings set` and `settings unset` change the user's file.

use std::path::PathBuf;
use std::process::ExitCode;

use alertdesk_core::config::edit::{self, SettingsError};
use alertdesk_core::config::layers::{self, Effective, Files, Source};
use alertdesk_core::config::paths::Paths;
use clap::{Args, Subcommand};

use crate::EXIT_USAGE;

/// `alertdesk settings`
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Check this file as your settings.toml instead of the active one (the department's files still apply).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print JSON: the files read, and every setting with its value, source ("default", "system", "user") and
    /// the file that locks it.
    #[arg(long)]
    pub json: bool,
    /// Change your settings.toml instead of printing.
    #[command(subcommand)]
    pub action: Option<SettingsAction>,
}

/// `alertdesk settings set|unset`
#[derive(Debug, Subcommand)]
pub enum SettingsAction {
    /// Set KEY to VALUE in your settings.toml (checked first; refused for a setting your department locked).
    Set {
        /// The setting, e.g. alerting.volume, window.theme, alerting.quiet_hours.
        #[arg(value_name = "KEY")]
        key: String,
        #[arg(
            value_name = "VALUE",
            allow_hyphen_values = true,
            help = "The value: text as it is (dark), or a TOML value: 60, true, '[\"closed\", \"done\"]', \
                    '{ from = \"22:00\", to = \"06:00\" }'"
        )]
        value: String,
    },
    /// Remove KEY from your settings.toml: the department's value, or the default, applies again.
    Unset {
        /// The setting, e.g. alerting.quiet_hours.
        #[arg(value_name = "KEY")]
        key: String,
    },
}

pub(crate) fn run(args: &SettingsArgs, paths: &Paths) -> ExitCode {
    if args.action.is_some() && (args.file.is_some() || args.json) {
        return super::usage_error(
            "FILE and --json are for printing the settings; `settings set` and `unset` change your own file",
        );
    }
    match &args.action {
        Some(SettingsAction::Set { key, value }) => {
            let changed = edit::parse_value(key, value)
                .and_then(|value| edit::change(paths, key, Some(value)));
            report_change(changed, key)
        }
        Some(SettingsAction::Unset { key }) => report_change(edit::change(paths, key, None), key),
        None => show(args, paths),
    }
}

/// Prints the settings in effect; exit code 2 when a file is not valid (each said on stderr, nothing printed).
fn show(args: &SettingsArgs, paths: &Paths) -> ExitCode {
    let effective = Effective::merge(&Files::read(paths, args.file.as_deref()));
    if !effective.problems.is_empty() {
        for problem in &effective.problems {
            eprintln!("alertdesk: {problem}");
        }
        return ExitCode::from(EXIT_USAGE);
    }
    for ignored in &effective.ignored {
        eprintln!("alertdesk: warning: {ignored}");
    }
    if args.json {
        println!("{:#}", json(&effective));
    } else {
        print!("{}", layers::to_text(&effective));
    }
    ExitCode::SUCCESS
}

/// The settings in effect as JSON.
fn json(effective: &Effective) -> serde_json::Value {
    let files: Vec<serde_json::Value> = effective
        .files
        .iter()
        .map(|(path, present)| {
            let whose = if *path == effective.user_file {
                "user"
            } else {
                "system"
            };
            serde_json::json!({"path": path, "whose": whose, "present": present})
        })
        .collect();
    let settings: Vec<serde_json::Value> = effective
        .entries()
        .into_iter()
        .map(|entry| {
            let (source, file) = match &entry.source {
                Source::Default => ("default", None),
                Source::System(file) => ("system", Some(file)),
                Source::User(file) => ("user", Some(file)),
            };
            serde_json::json!({
                "key": entry.key,
                "value": entry.value,
                "source": source,
                "file": file,
                "locked": entry.locked,
            })
        })
        .collect();
    serde_json::json!({"files": files, "ignored": effective.ignored, "settings": settings})
}

/// What `set` and `unset` say: the setting's line as `settings` prints it, or why it was refused (exit 2).
fn report_change(changed: Result<Effective, SettingsError>, key: &str) -> ExitCode {
    match changed {
        Ok(effective) => {
            let key = key.trim();
            let text = layers::to_text(&effective);
            let line = text.lines().find(|l| {
                l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} "))
            });
            if let Some(line) = line {
                println!("{}", line.trim_end());
            }
            ExitCode::SUCCESS
        }
        Err(e @ SettingsError::Io { .. }) => {
            eprintln!("alertdesk: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("alertdesk: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
