//! One file per command.

pub(crate) mod acknowledge;
pub(crate) mod demo;
pub(crate) mod history;
pub(crate) mod listen;
pub(crate) mod login;
pub(crate) mod net;
pub(crate) mod probe;
pub(crate) mod profile;
pub(crate) mod settings;
pub(crate) mod terminal;
pub(crate) mod token;

use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;

use alertdesk_core::config::lock::{DataDirLock, LockError};
use alertdesk_core::config::paths::Paths;
use alertdesk_core::domain::Server;
use alertdesk_core::link::spec::SpecError;
use alertdesk_core::profile::{Profile, VariableError};
use alertdesk_core::store::{Store, StoreError};

use crate::EXIT_USAGE;

/// Parses `KEY=VALUE` for `--set`.
pub(crate) fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// A usage error: one line on stderr, exit code 2.
pub(crate) fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("alertdesk: {message}");
    ExitCode::from(EXIT_USAGE)
}

/// Loads the profile, server and variables every connecting command needs.
pub(crate) fn resolve(
    profile: &str,
    server: Option<&str>,
    set: &[(String, String)],
) -> Result<(Profile, Server, BTreeMap<String, String>), ExitCode> {
    let profile = Profile::load(profile).map_err(usage_error)?;
    let server_text = server
        .or(profile.default_server.as_deref())
        .ok_or_else(|| {
            usage_error(format!(
                "--server is required for profile {} (e.g. --server http://127.0.0.1:8080)",
                profile.name
            ))
        })?;
    let server = Server::parse(server_text).map_err(usage_error)?;
    let set: BTreeMap<String, String> = set.iter().cloned().collect();
    let vars = profile
        .resolve_variables(&set)
        .map_err(|e| usage_error(variable_words(&e)))?;
    Ok((profile, server, vars))
}

/// A variable error in the CLI's words: the flag that fixes it.
pub(crate) fn variable_words(error: &VariableError) -> String {
    match error {
        VariableError::Missing { profile, missing } => {
            let names: Vec<String> = missing.iter().map(|(n, d)| format!("{n} ({d})")).collect();
            format!(
                "profile {profile} needs --set for: {} (e.g. --set {}=VALUE)",
                names.join(", "),
                missing.first().map_or("NAME", |(n, _)| n.as_str())
            )
        }
        VariableError::Unknown { .. } | VariableError::Invalid { .. } => error.to_string(),
    }
}

/// A profile that cannot be applied to a server, in the CLI's words.
pub(crate) fn spec_words(error: &SpecError, profile: &str, server: &Server) -> String {
    match error {
        SpecError::NoToken { .. } => format!(
            "{error}: sign in with `alertdesk login --profile {profile} --server {server} --username NAME`, or pass \
             the token in {}",
            token::TOKEN_WAYS
        ),
        SpecError::Query { .. } | SpecError::Emit { .. } => {
            format!("{error}: set it with --set NAME=VALUE")
        }
        SpecError::Server(_) => error.to_string(),
    }
}

/// The history as a front-end opens it, and what it had to do to open it.
#[derive(Debug)]
pub struct OpenedStore {
    /// The history.
    pub store: Store,
    /// Set when a damaged history was set aside: say so.
    pub recovered: Option<String>,
}

/// Opens the data directory's history (creating the directories), for every front-end. A damaged file is set
/// aside (the sentence to show is in [`OpenedStore::recovered`]); a locked or too new one is an error, worded.
pub fn open_store(paths: &Paths) -> Result<OpenedStore, String> {
    match Store::open_in(paths) {
        Ok(opened) => Ok(OpenedStore {
            store: opened.store,
            recovered: opened.recovered.map(|recovery| {
                format!(
                    "the history was damaged ({}); it was kept aside as {} and a new one started",
                    recovery.reason,
                    recovery.kept_aside.display()
                )
            }),
        }),
        Err(e @ StoreError::Locked { .. }) => Err(format!(
            "{e}: close the other Alertdesk, or give this one a different --data-dir"
        )),
        Err(e) => Err(format!("cannot open the history: {e}")),
    }
}

/// Takes the data directory for this process, `what` naming it to a process refused later (e.g. `listen`): only
/// one process at a time receives alerts for a data directory. The error is worded, with whether it is a second
/// owner (`true`) or a failure.
pub fn lock_data_dir(paths: &Paths, what: &str) -> Result<DataDirLock, (String, bool)> {
    if let Err(e) = paths.create_all() {
        return Err((e.to_string(), false));
    }
    let command = format!("{} {what}", crate::program_name());
    DataDirLock::acquire(paths, &command).map_err(|e| match e {
        LockError::Held { .. } => (
            format!(
                "{e}: only one Alertdesk at a time receives alerts for a data directory (two would each drop the \
                 other's alerts as duplicates); stop that one, or give this one another --data-dir"
            ),
            true,
        ),
        LockError::Io { .. } => (e.to_string(), false),
    })
}

/// [`lock_data_dir`] for a command: a second owner is exit code 2, a failure exit code 1, said on stderr.
pub(crate) fn own_data_dir(paths: &Paths, what: &str) -> Result<DataDirLock, ExitCode> {
    lock_data_dir(paths, what).map_err(|(message, held)| {
        eprintln!("alertdesk: {message}");
        if held {
            ExitCode::from(EXIT_USAGE)
        } else {
            ExitCode::FAILURE
        }
    })
}

/// [`open_store`] for a command: the damage said on stderr, a failure said and exit code 1.
pub(crate) fn open_history(paths: &Paths) -> Result<Store, ExitCode> {
    match open_store(paths) {
        Ok(opened) => {
            if let Some(message) = opened.recovered {
                tracing::warn!("{message}");
                eprintln!("alertdesk: {message}");
            }
            Ok(opened.store)
        }
        Err(message) => {
            eprintln!("alertdesk: {message}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// A single-threaded runtime: the CLI waits on a handful of sockets, and one thread keeps it small. A failure
/// is reported, and its exit code returned.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("alertdesk: cannot start: {e}");
            ExitCode::FAILURE
        })
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called (inside the runtime), not when
/// first awaited, so a signal that arrives right after (say, once `demo` printed its URL) is not lost.
pub(crate) fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handlers = signal(SignalKind::terminate()).and_then(|term| {
            let interrupt = signal(SignalKind::interrupt())?;
            Ok((term, interrupt))
        });
        async move {
            match handlers {
                Ok((mut term, mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
