//! One file per command.

pub(crate) mod acknowledge;
pub(crate) mod demo;
pub(crate) mod duty;
pub(crate) mod history;
pub(crate) mod listen;
pub(crate) mod login;
pub(crate) mod profile;

use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;

use alertdesk_core::profile::Profile;
use alertdesk_core::server::Server;

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
    let vars = profile.resolve_variables(&set).map_err(usage_error)?;
    Ok((profile, server, vars))
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
