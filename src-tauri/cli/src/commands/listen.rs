//! `alertdesk listen`: connect to one server and print alerts as they arrive; with `--notify`, duty mode
//! (native notifications with sound, repeats until acknowledged). The engine does the work, as in the desktop
//! app; this file parses the arguments, finds the token, and prints (the [`Terminal`] sink).

use std::process::ExitCode;
use std::sync::Arc;

use alertdesk_core::config::paths::Paths;
use alertdesk_core::engine::{Alerting, Engine, EngineOptions, TokenSource};
use alertdesk_core::link::auth::{self, KeyringStore, TokenStore};
use alertdesk_core::link::protocol::Heartbeat;
use alertdesk_core::link::spec::link_spec;
use alertdesk_core::link::Target;
use alertdesk_core::profile::AuthMode;
use clap::Args;

use super::net::{command_network, NetArgs};
use super::terminal::{Ending, Terminal};
use super::token::{given_token, TokenArgs, TOKEN_WAYS};
use super::{
    open_history, own_data_dir, parse_key_value, resolve, runtime, shutdown_signal, spec_words,
    usage_error,
};
use crate::{Secrets, EXIT_AUTH};

/// `alertdesk listen`
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Built-in profile name (see `alertdesk profile list`) or a profile file.
    #[arg(long, short = 'p', value_name = "NAME|FILE")]
    pub profile: String,
    /// The backend, e.g. http://127.0.0.1:8080 (default: the profile's).
    #[arg(long, short = 's', value_name = "URL")]
    pub server: Option<String>,
    /// A token to use instead of the one in the OS keyring.
    #[command(flatten)]
    pub token: TokenArgs,
    /// Set a profile variable, e.g. --set event_id=42 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// One JSON object per alert on stdout, and JSON status lines on stderr.
    #[arg(long)]
    pub json: bool,
    /// TLS: a certificate authority file to trust.
    #[command(flatten)]
    pub net: NetArgs,
    /// Duty mode: native notifications with sound for the alerts that need them, repeated until acknowledged
    /// (see docs/alerting.md and the [alerting] settings).
    #[arg(long)]
    pub notify: bool,
}

pub(crate) fn run(args: &ListenArgs, paths: &Paths, secrets: Secrets) -> ExitCode {
    let (profile, server, vars) = match resolve(&args.profile, args.server.as_deref(), &args.set) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let given = match given_token(&args.token, secrets) {
        Ok(given) => given,
        Err(code) => return code,
    };
    // A token from the keyring is read again by the engine, with the refresh token kept next to it.
    let from_keyring = given.is_none() && profile.auth.mode != AuthMode::None;
    let token = match given {
        Some(token) => Some(token),
        None if profile.auth.mode == AuthMode::None => None,
        None => match KeyringStore.get(&auth::account(&profile.name, &server)) {
            Ok(token) => token,
            // A server whose socket needs no token: a missing or locked keyring is no reason to stay away.
            Err(e) if profile.auth.optional => {
                tracing::warn!("{e}; connecting without a token");
                None
            }
            // Not a usage error: a keyring that is locked or not running yet (a user service started before
            // the session's keyring) can work a moment later, so this is a failure worth retrying (exit 1).
            Err(e) => {
                eprintln!(
                    "alertdesk: cannot read the token for {server} ({}): {e}; unlock the keyring (or start a \
                     Secret Service), or pass the token in {TOKEN_WAYS}",
                    profile.name
                );
                return ExitCode::FAILURE;
            }
        },
    };
    // TLS and proxies: a CA file, client certificate or proxy setting that cannot be used is exit code 2.
    let net = match command_network(paths, &args.net) {
        Ok(net) => net,
        Err(code) => return code,
    };
    // What the profile needs from this server (a token, variables for connect steps) is checked before
    // anything starts, so a mistake is one clear line and exit code 2.
    let set: std::collections::BTreeMap<String, String> = args.set.iter().cloned().collect();
    let target = Target {
        discover_base: Target::discovers_base(&profile, &set),
        profile: Arc::new(profile),
        server,
        vars,
        token,
        cursor: None,
        net,
    };
    if let Err(e) = link_spec(&target, Heartbeat::default()) {
        return usage_error(spec_words(&e, &target.profile.name, &target.server));
    }
    // Held until listening ends: another listener or the desktop app on this data directory would swallow
    // this one's alerts as duplicates, and this one theirs.
    let _owner = match own_data_dir(paths, "listen") {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    let store = match open_history(paths) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(listen(target, from_keyring, store, paths, args))
}

async fn listen(
    target: Target,
    from_keyring: bool,
    store: alertdesk_core::store::Store,
    paths: &Paths,
    args: &ListenArgs,
) -> ExitCode {
    // The department's files and the user's; what is left out was logged when logging started.
    let settings = alertdesk_core::config::layers::Effective::load(paths).settings;
    let alerting = args.notify.then(|| {
        let (notifier, events) = alertdesk_core::alerting::dbus::start_notifier(paths);
        Alerting {
            notifier: Arc::new(notifier),
            events,
        }
    });
    let (terminal, ending) = Terminal::new(args.json);
    let options = EngineOptions {
        paths: paths.clone(),
        settings,
        tokens: Arc::new(KeyringStore),
        alerting,
        heartbeat: Heartbeat::default(),
        wake: Some(alertdesk_core::link::wake::watch()),
        shell: Some(Arc::new(terminal)),
        saved_servers: false,
        net: Ok(target.net.clone()),
    };
    let engine = match Engine::start(options, store) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("alertdesk: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let token = match &target.token {
        Some(_) if from_keyring => TokenSource::Stored,
        Some(token) => TokenSource::Given(token.clone()),
        None => TokenSource::Without,
    };
    let connected = engine
        .connect(
            &args.profile,
            target.server.as_str(),
            args.set.iter().cloned().collect(),
            token,
        )
        .await;
    if let Err(e) = connected {
        engine.shutdown().await;
        return usage_error(e);
    }
    let ending = tokio::select! {
        () = shutdown_signal() => None,
        ending = ending => ending.ok(),
    };
    engine.shutdown().await;
    match ending {
        Some(Ending::AuthFailed(reason)) => {
            let (profile, server) = (&target.profile.name, &target.server);
            eprintln!(
                "alertdesk: {server} rejected the credentials ({reason}); sign in again: alertdesk login --profile {profile} --server {server}"
            );
            ExitCode::from(EXIT_AUTH)
        }
        Some(Ending::StdoutClosed) | None => ExitCode::SUCCESS,
    }
}
