//! `alertdesk acknowledge` and `alertdesk respond`: an alert is acknowledged in the history at once and, where the
//! profile says how, the response goes into the history's outbox and is sent to the server now. What the server
//! does not take now stays in the outbox: `listen` and the desktop app send it when they next reach the server,
//! retrying until it confirms.

use std::collections::BTreeMap;
use std::process::ExitCode;

use alertdesk_core::config::paths::Paths;
use alertdesk_core::domain::Server;
use alertdesk_core::engine::servers;
use alertdesk_core::link::auth::{self, KeyringStore, TokenStore};
use alertdesk_core::link::writeback::{outcome, write_back, WriteBackError};
use alertdesk_core::profile::Profile;
use alertdesk_core::store::outbox::ACKNOWLEDGE;
use alertdesk_core::store::{Query, Sent, Store, StoredAlert};
use clap::Args;

use super::net::{command_network, NetArgs};
use super::token::{given_token, TokenArgs};
use super::{open_history, parse_key_value, runtime, usage_error, variable_words};
use crate::{Secrets, EXIT_AUTH, EXIT_QUEUED};

/// How to reach the alert's server: shared by `acknowledge` and `respond`.
#[derive(Debug, Args)]
pub struct Reach {
    /// The alert's server (needed when two servers use the same id).
    #[arg(long, short = 's', value_name = "URL")]
    pub server: Option<String>,
    /// The profile to write back with (default: the alert's own built-in profile).
    #[arg(long, short = 'p', value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// A token to use instead of the one in the OS keyring.
    #[command(flatten)]
    pub token: TokenArgs,
    /// Set a profile variable (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// TLS: a certificate authority file to trust.
    #[command(flatten)]
    pub net: NetArgs,
}

/// `alertdesk acknowledge`
#[derive(Debug, Args)]
pub struct AcknowledgeArgs {
    /// The alert's id (as `history` shows it).
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub reach: Reach,
}

/// `alertdesk respond`
#[derive(Debug, Args)]
pub struct RespondArgs {
    /// The alert's id (as `history` shows it).
    #[arg(value_name = "ID")]
    pub id: String,
    /// The response: a name or label the alert's profile declares (`alertdesk profile show NAME` lists its
    /// [[responses]], e.g. en_route), or `acknowledge`.
    #[arg(value_name = "STATUS")]
    pub status: String,
    #[command(flatten)]
    pub reach: Reach,
}

pub(crate) fn acknowledge(args: &AcknowledgeArgs, paths: &Paths, secrets: Secrets) -> ExitCode {
    run(&args.id, ACKNOWLEDGE, &args.reach, paths, secrets)
}

pub(crate) fn respond(args: &RespondArgs, paths: &Paths, secrets: Secrets) -> ExitCode {
    run(&args.id, &args.status, &args.reach, paths, secrets)
}

fn run(id: &str, wanted: &str, reach: &Reach, paths: &Paths, secrets: Secrets) -> ExitCode {
    // Before anything is recorded: a token on the command line is refused with nothing done.
    let token_given = match given_token(&reach.token, secrets) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let store = match open_history(paths) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let stored = match find(&store, id, reach.server.as_deref()) {
        Ok(stored) => stored,
        Err(code) => return code,
    };
    let profile = match Profile::load(reach.profile.as_deref().unwrap_or(&stored.alert.profile)) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let (name, label) = match choose(&profile, wanted, &stored) {
        Ok(chosen) => chosen,
        Err(message) => return usage_error(message),
    };
    if profile.call(&name).is_none() {
        // Only the acknowledgement gets here: a profile without a way to send it keeps it local.
        if let Err(e) = store.acknowledge(Some(&stored.server), id) {
            eprintln!("alertdesk: {e}");
            return ExitCode::FAILURE;
        }
        println!(
            "Acknowledged {id} locally; profile {} offers no acknowledgement on the server.",
            profile.name
        );
        return ExitCode::SUCCESS;
    }
    let queued = match store.queue_response(Some(&stored.server), id, &name, &label) {
        Ok(queued) => queued,
        Err(e) => {
            eprintln!("alertdesk: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match Server::parse(stored.server.as_str()) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let given: BTreeMap<String, String> = reach.set.iter().cloned().collect();
    let vars = match profile.resolve_variables(&given) {
        Ok(vars) => vars,
        Err(e) => return usage_error(variable_words(&e)),
    };
    let token = token_given.or_else(|| {
        KeyringStore
            .get(&auth::account(&profile.name, &server))
            .unwrap_or_else(|e| {
                tracing::warn!("{e}");
                None
            })
    });
    // The server's own CA file, when the desktop app saved it with the server (its link trusts it too).
    let saved_ca = servers::peek(&paths.config_dir.join(servers::FILE_NAME))
        .into_iter()
        .find(|e| Server::parse(&e.url).is_ok_and(|s| s == server))
        .and_then(|e| e.ca_file);
    let net = match command_network(paths, &reach.net).and_then(|net| {
        net.with_optional_ca_file(saved_ca.as_deref())
            .map_err(usage_error)
    }) {
        Ok(net) => net,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let http = net.http();
    let result = rt.block_on(write_back(
        &http,
        &profile,
        &server,
        token.as_ref(),
        &vars,
        &stored.alert,
        &name,
    ));
    let sent = outcome(&result, 0);
    if let Err(e) = store.response_sent(queued.seq, &sent) {
        eprintln!("alertdesk: {e}");
    }
    let done = if name == ACKNOWLEDGE {
        format!("Acknowledged {id}")
    } else {
        format!("Responded \"{label}\" to {id}")
    };
    said(&done, &server, sent, result)
}

/// What became of the response, said on stdout or stderr, and its exit code.
fn said(
    done: &str,
    server: &Server,
    sent: Sent,
    result: Result<serde_json::Value, WriteBackError>,
) -> ExitCode {
    match (sent, result) {
        (Sent::Confirmed, _) => {
            println!("{done} on {server}.");
            ExitCode::SUCCESS
        }
        (Sent::Failed { error }, _) => {
            eprintln!("alertdesk: {done} locally, but the server refused it: {error}");
            ExitCode::FAILURE
        }
        (Sent::Retry { .. }, Err(e @ WriteBackError::Rejected { .. })) => {
            eprintln!(
                "alertdesk: {done} locally, but {e}; sign in again. It stays in the outbox and is sent when \
                 Alertdesk next reaches the server."
            );
            ExitCode::from(EXIT_AUTH)
        }
        (Sent::Retry { error, .. }, _) => {
            eprintln!(
                "alertdesk: {done} locally; the server did not take it yet ({error}). It stays in the outbox and \
                 is sent when `alertdesk listen` or the desktop app next reaches {server}."
            );
            ExitCode::from(EXIT_QUEUED)
        }
    }
}

/// The one alert `id` names (on `server`, when given).
fn find(store: &Store, id: &str, server: Option<&str>) -> Result<StoredAlert, ExitCode> {
    let server = server
        .map(Server::parse)
        .transpose()
        .map_err(usage_error)?
        .map(|s| s.id());
    let query = Query {
        server,
        id: Some(id.to_string()),
        ..Query::default()
    };
    let found = store.list(&query).map_err(|e| {
        eprintln!("alertdesk: {e}");
        ExitCode::FAILURE
    })?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(usage_error(format!("no alert {id} in the history"))),
        many => {
            let servers: Vec<_> = many.iter().map(|a| a.server.as_str()).collect();
            Err(usage_error(format!(
                "{id} exists on several servers ({}): pass --server",
                servers.join(", ")
            )))
        }
    }
}

/// The response `wanted` names (by name or label, in any case) and its label, if the profile offers it for this
/// alert.
fn choose(
    profile: &Profile,
    wanted: &str,
    stored: &StoredAlert,
) -> Result<(String, String), String> {
    let same = |a: &str, b: &str| {
        let squash = |s: &str| s.to_lowercase().replace(['_', '-', ' '], "");
        squash(a) == squash(b)
    };
    if same(wanted, ACKNOWLEDGE) {
        return Ok((ACKNOWLEDGE.to_string(), "Acknowledge".to_string()));
    }
    let kind = stored.alert.fields.kind;
    let offered: Vec<_> = profile
        .responses
        .iter()
        .filter(|r| r.offered_for(kind))
        .collect();
    offered
        .iter()
        .find(|r| same(&r.name, wanted) || same(&r.label, wanted))
        .map(|r| (r.name.clone(), r.label.clone()))
        .ok_or_else(|| {
            let names: Vec<&str> = offered
                .iter()
                .map(|r| r.name.as_str())
                .chain([ACKNOWLEDGE])
                .collect();
            format!(
                "profile {} offers no response {wanted:?} for this {} alert (it offers: {})",
                profile.name,
                kind.as_str(),
                names.join(", ")
            )
        })
}
