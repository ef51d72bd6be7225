//! `alertdesk acknowledge`: marks an alert acknowledged in the history and, where the profile says how, on
//! the server too.

use std::collections::BTreeMap;
use std::process::ExitCode;

use alertdesk_core::config::paths::Paths;
use alertdesk_core::domain::Server;
use alertdesk_core::link::auth::{self, KeyringStore, TokenStore};
use alertdesk_core::link::writeback::{write_back, WriteBackError};
use alertdesk_core::profile::Profile;
use alertdesk_core::store::Query;
use clap::Args;

use super::{given_token, open_history, parse_key_value, runtime, usage_error, variable_words};
use crate::{Secrets, EXIT_AUTH};

/// `alertdesk acknowledge`
#[derive(Debug, Args)]
pub struct AcknowledgeArgs {
    /// The alert's id (as `history` shows it).
    #[arg(value_name = "ID")]
    pub id: String,
    /// The alert's server (needed when two servers use the same id).
    #[arg(long, short = 's', value_name = "URL")]
    pub server: Option<String>,
    /// The profile to write back with (default: the alert's own built-in profile).
    #[arg(long, short = 'p', value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Token to use instead of the one in the OS keyring (prefer the ALERTDESK_TOKEN environment variable).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Set a profile variable (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
}

pub(crate) fn run(args: &AcknowledgeArgs, paths: &Paths, secrets: Secrets) -> ExitCode {
    let server_filter = match args.server.as_deref().map(Server::parse).transpose() {
        Ok(s) => s.map(|s| s.id()),
        Err(e) => return usage_error(e),
    };
    let store = match open_history(paths) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let query = Query {
        server: server_filter,
        id: Some(args.id.clone()),
        ..Query::default()
    };
    let found: Vec<_> = match store.list(&query) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("alertdesk: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stored = match found.as_slice() {
        [one] => one.clone(),
        [] => return usage_error(format!("no alert {} in the history", args.id)),
        many => {
            let servers: Vec<_> = many.iter().map(|a| a.server.as_str()).collect();
            return usage_error(format!(
                "{} exists on several servers ({}): pass --server",
                args.id,
                servers.join(", ")
            ));
        }
    };
    if let Err(e) = store.acknowledge(Some(&stored.server), &args.id) {
        eprintln!("alertdesk: {e}");
        return ExitCode::FAILURE;
    }
    let profile = match Profile::load(args.profile.as_deref().unwrap_or(&stored.alert.profile)) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    if profile.acknowledge.is_none() {
        println!(
            "Acknowledged {} locally; profile {} offers no acknowledgement on the server.",
            args.id, profile.name
        );
        return ExitCode::SUCCESS;
    }
    let server = match Server::parse(stored.server.as_str()) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let set: BTreeMap<String, String> = args.set.iter().cloned().collect();
    let vars = match profile.resolve_variables(&set) {
        Ok(vars) => vars,
        Err(e) => return usage_error(variable_words(&e)),
    };
    let token = match given_token(args.token.as_deref(), secrets) {
        Some(t) => Some(t),
        None => KeyringStore
            .get(&auth::account(&profile.name, &server))
            .unwrap_or_else(|e| {
                tracing::warn!("{e}");
                None
            }),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let http = auth::http_client();
    match rt.block_on(write_back(
        &http,
        &profile,
        &server,
        token.as_ref(),
        &vars,
        &stored.alert,
    )) {
        Ok(_) => {
            println!("Acknowledged {} on {server}.", args.id);
            ExitCode::SUCCESS
        }
        Err(e @ WriteBackError::Rejected { .. }) => {
            eprintln!("alertdesk: acknowledged locally, but {e}; sign in again");
            ExitCode::from(EXIT_AUTH)
        }
        Err(e) => {
            eprintln!("alertdesk: acknowledged locally, but the server was not told: {e}");
            ExitCode::FAILURE
        }
    }
}
