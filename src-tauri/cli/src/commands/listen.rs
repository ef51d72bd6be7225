//! `alertdesk listen`: connect to one server and print alerts as they arrive.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use alertdesk_core::alert::Alert;
use alertdesk_core::auth::{self, KeyringStore, TokenStore};
use alertdesk_core::history::{Delivered, History};
use alertdesk_core::paths::Paths;
use alertdesk_core::profile::AuthMode;
use alertdesk_core::protocol::Heartbeat;
use alertdesk_core::secret::Token;
use alertdesk_core::settings::Settings;
use alertdesk_core::store::{Store, StoreError};
use alertdesk_core::supervisor::{LinkState, Outcome, Supervisor, Target};
use clap::Args;
use serde_json::json;
use tokio::sync::mpsc;

use super::duty::{self, Duty};
use super::{parse_key_value, resolve, runtime, shutdown_signal, usage_error};
use crate::EXIT_AUTH;

/// `alertdesk listen`
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Built-in profile name (see `alertdesk profile list`) or a profile file.
    #[arg(long, short = 'p', value_name = "NAME|FILE")]
    pub profile: String,
    /// The backend, e.g. http://127.0.0.1:8080 (default: the profile's).
    #[arg(long, short = 's', value_name = "URL")]
    pub server: Option<String>,
    /// Token to use instead of the one in the OS keyring (prefer ALERTDESK_TOKEN: arguments show in `ps`).
    #[arg(long, value_name = "TOKEN", env = auth::TOKEN_ENV, hide_env_values = true)]
    pub token: Option<String>,
    /// Set a profile variable, e.g. --set event_id=42 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// One JSON object per alert on stdout, and JSON status lines on stderr.
    #[arg(long)]
    pub json: bool,
    /// Duty mode: native notifications with sound for the alerts that need them, repeated until acknowledged
    /// (see docs/alerting.md and the [alerting] settings).
    #[arg(long)]
    pub notify: bool,
}

pub(crate) fn run(args: &ListenArgs, paths: &Paths) -> ExitCode {
    let (profile, server, vars) = match resolve(&args.profile, args.server.as_deref(), &args.set) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let token = match args.token.as_deref() {
        Some(t) if !t.is_empty() => Some(Token::new(t)),
        _ if profile.auth.mode == AuthMode::None => None,
        _ => match KeyringStore.get(&auth::account(&profile.name, &server)) {
            Ok(token) => token,
            Err(e) if profile.auth.optional => {
                tracing::warn!("{e}; connecting without a token");
                None
            }
            Err(e) => {
                eprintln!("alertdesk: {e}; pass the token with ALERTDESK_TOKEN or --token instead");
                return ExitCode::FAILURE;
            }
        },
    };
    let store = match open_history(paths) {
        Ok(store) => Arc::new(std::sync::Mutex::new(store)),
        Err(code) => return code,
    };
    let history = History::new(store, server.as_str(), &profile.name);
    let cursor = match history.cursor() {
        Ok(cursor) => cursor,
        Err(e) => {
            eprintln!("alertdesk: cannot read the history: {e}");
            return ExitCode::FAILURE;
        }
    };
    let target = Target {
        profile: Arc::new(profile),
        server,
        vars,
        token,
        cursor,
    };
    let supervisor = match Supervisor::new(target.clone(), Heartbeat::default()) {
        Ok(s) => s,
        Err(message) => return usage_error(message),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(listen(supervisor, &target, history, paths, args))
}

async fn listen(
    supervisor: Supervisor,
    target: &Target,
    history: History,
    paths: &Paths,
    args: &ListenArgs,
) -> ExitCode {
    let json = args.json;
    let mut duty = args.notify.then(|| Duty::start(paths, target, &history));
    let (tx, mut rx) = mpsc::channel(1024);
    let supervisor = supervisor.with_wake(alertdesk_core::wake::watch());
    let task = tokio::spawn(supervisor.run(tx, shutdown_signal()));
    let mut stdout = std::io::stdout().lock();
    let mut store_failed = false;
    let retention = Settings::load(&paths.settings_file())
        .unwrap_or_default()
        .history;
    // Retention runs at start and then hourly, off the alert path.
    let mut prune = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        let first = tokio::select! {
            update = rx.recv() => match update {
                Some(update) => update,
                None => break,
            },
            wake = duty::next(duty.as_mut()) => {
                if let Some(duty) = duty.as_mut() {
                    duty.handle(wake).await;
                }
                continue;
            }
            _ = prune.tick() => {
                match history.prune(retention.max_age(), retention.max_alerts).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("retention: removed {n} old alerts from the history"),
                    Err(e) => tracing::warn!("retention: {e}"),
                }
                continue;
            }
        };
        // Take what is already queued as one batch: one transaction, one disk flush per burst.
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(update) => batch.push(update),
                Err(_) => break,
            }
        }
        let delivered = match history.apply(batch.clone()).await {
            Ok(delivered) => delivered,
            Err(e) => {
                // Never lose an alert because the history failed: print everything, say so once.
                if !store_failed {
                    eprintln!("alertdesk: cannot write the history ({e}); alerts are printed but not kept");
                    store_failed = true;
                }
                Delivered::unrecorded(batch)
            }
        };
        for item in delivered {
            if let Some(duty) = duty.as_mut() {
                duty.on_delivered(&item);
            }
            match item {
                Delivered::New(alert) | Delivered::Updated(alert, _) => {
                    let line = if json {
                        serde_json::to_string(&alert).unwrap_or_default()
                    } else {
                        human_line(&alert)
                    };
                    // A closed stdout (`| head`) ends listening quietly.
                    if writeln!(stdout, "{line}")
                        .and_then(|()| stdout.flush())
                        .is_err()
                    {
                        task.abort();
                        return ExitCode::SUCCESS;
                    }
                }
                Delivered::State(state) => report_state(&state, target, json),
                Delivered::Gap { from, to } => report_gap(&from, &to, target, json),
            }
        }
    }
    match task.await {
        Ok(Outcome::AuthFailed(reason)) => {
            eprintln!(
                "alertdesk: {} rejected the credentials ({reason}); sign in again: alertdesk login --profile {} --server {}",
                target.server, target.profile.name, target.server
            );
            ExitCode::from(EXIT_AUTH)
        }
        Ok(Outcome::Stopped) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alertdesk: listener failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The most updates recorded in one transaction.
const MAX_BATCH: usize = 512;

fn report_state(state: &LinkState, target: &Target, json: bool) {
    if json {
        let mut value = serde_json::to_value(state).unwrap_or_else(|_| json!({}));
        if let Some(map) = value.as_object_mut() {
            map.insert("server".into(), json!(target.server.to_string()));
            map.insert("profile".into(), json!(target.profile.name));
        }
        eprintln!("{value}");
        return;
    }
    let where_ = format!("{} ({})", target.server, target.profile.name);
    match state {
        LinkState::Connecting => eprintln!("alertdesk: connecting to {where_}"),
        LinkState::Live => eprintln!("alertdesk: live: {where_}"),
        #[allow(clippy::cast_precision_loss)] // milliseconds to seconds for display
        LinkState::Reconnecting {
            retry_in_ms,
            reason,
        } => {
            eprintln!(
                "alertdesk: link down ({reason}); retrying in {:.1} s",
                *retry_in_ms as f64 / 1000.0
            );
        }
        LinkState::Polling { every_s, reason } => {
            eprintln!("alertdesk: WebSocket down ({reason}); polling {where_} every {every_s} s");
        }
        LinkState::AuthFailed { .. } => {} // reported once, with what to do, when listening ends
        LinkState::Stopped => eprintln!("alertdesk: stopped"),
    }
}

/// Opens the history; a damaged file is set aside (and said so), a locked one is an error.
pub(crate) fn open_history(paths: &Paths) -> Result<Store, ExitCode> {
    if let Err(e) = paths.create_all() {
        eprintln!("alertdesk: {e}");
        return Err(ExitCode::FAILURE);
    }
    match Store::open(&paths.history_file()) {
        Ok(opened) => {
            if let Some(recovery) = opened.recovered {
                eprintln!(
                    "alertdesk: the history was damaged ({}); it was kept aside as {} and a new one started",
                    recovery.reason,
                    recovery.kept_aside.display()
                );
            }
            Ok(opened.store)
        }
        Err(e @ StoreError::Locked { .. }) => {
            eprintln!("alertdesk: {e}");
            Err(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("alertdesk: cannot open the history: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// The backend cannot tell what was missed while the link was down: say so instead of pretending.
fn report_gap(from: &str, to: &str, target: &Target, json: bool) {
    if json {
        let value = json!({"notice": "gap", "from": from, "to": to, "server": target.server.to_string(),
                           "profile": target.profile.name});
        eprintln!("{value}");
    } else {
        eprintln!(
            "alertdesk: offline {}-{}, some events may be missing ({})",
            local_time(from),
            local_time(to),
            target.server
        );
    }
}

fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_string(),
        |t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        },
    )
}

/// `14:02:11  HIGH      report      Burglary: back door — Station 4 · Main St  [report-12]`
pub(crate) fn human_line(alert: &Alert) -> String {
    let time = local_time(&alert.received_at);
    let mut line = format!(
        "{time}  {:<8}  {:<10}  {}",
        alert.priority.as_str().to_uppercase(),
        alert.kind.as_str(),
        one_line(&alert.title)
    );
    if !alert.body.is_empty() {
        line.push_str(" — ");
        line.push_str(&one_line(&alert.body));
    }
    if alert.assigned_to_me {
        line.push_str("  [assigned to you]");
    }
    line + "  [" + &alert.id + "]"
}

/// Server text on one terminal line: control characters (escape sequences, newlines) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn server_text_cannot_move_the_terminal() {
        assert_eq!(one_line("a\nb\x1b[2Jc\r"), "a b [2Jc ");
    }
}
