//! `alertdesk profile probe`: what a server really speaks, held against a profile, and an override that fixes
//! what it can.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alertdesk_core::config::paths::Paths;
use alertdesk_core::domain::{Server, Token};
use alertdesk_core::link::auth::{self, KeyringStore, TokenStore};
use alertdesk_core::link::net::Net;
use alertdesk_core::link::probe::{self, ProbeOptions, ProbeReport};
use alertdesk_core::link::protocol::Heartbeat;
use alertdesk_core::link::Target;
use alertdesk_core::profile::Profile;
use clap::Args;

use super::login::read_password;
use super::net::{command_network, NetArgs};
use super::token::{given_token, TokenArgs};
use super::{parse_key_value, runtime, usage_error, variable_words};
use crate::{Secrets, EXIT_AUTH};

/// `alertdesk profile probe`
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long, short = 's', value_name = "URL")]
    pub server: String,
    /// The profile to hold it against (built-in name or file). Without one, Socket.IO and plain WebSockets are
    /// tried at the usual paths and the events are listed.
    #[arg(long, short = 'p', value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// How long to watch events, in seconds.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// The token to try when the socket refuses a connection without one (else ALERTDESK_TOKEN, a sign-in
    /// with --username, or the one in the OS keyring).
    #[command(flatten)]
    pub token: TokenArgs,
    /// Sign in as this user with the profile's login request first (the token is not kept).
    #[arg(long, short = 'u', value_name = "NAME", requires = "profile", conflicts_with_all = ["token", "token_file"])]
    pub username: Option<String>,
    /// With --username: read the password from the first line of standard input instead of prompting.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Set a profile variable, e.g. --set event_id=42 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// Print the findings as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write an override profile that extends the one probed and fixes what the probe found.
    #[arg(long, value_name = "FILE", requires = "profile")]
    pub write: Option<std::path::PathBuf>,
    /// TLS: a certificate authority file to trust.
    #[command(flatten)]
    pub net: NetArgs,
}

pub(crate) fn run(args: &ProbeArgs, paths: &Paths, secrets: Secrets) -> ExitCode {
    let server = match Server::parse(&args.server) {
        Ok(server) => server,
        Err(e) => return usage_error(e),
    };
    let profile = match args.profile.as_deref().map(Profile::load).transpose() {
        Ok(profile) => profile.map(Arc::new),
        Err(e) => return usage_error(e),
    };
    let set: BTreeMap<String, String> = args.set.iter().cloned().collect();
    if let Some(profile) = &profile {
        if let Err(e) = profile.resolve_variables(&set) {
            return usage_error(variable_words(&e));
        }
    }
    let net = match command_network(paths, &args.net) {
        Ok(net) => net,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let token = match find_token(args, secrets, profile.as_deref(), &server, &set, &rt, &net) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let options = ProbeOptions {
        server,
        profile: profile.zip(args.profile.clone()),
        set,
        token,
        watch: Duration::from_secs(args.seconds),
        heartbeat: Heartbeat::default(),
        net,
    };
    if !args.json {
        eprintln!(
            "alertdesk: probing {} for {} s{}",
            options.server,
            args.seconds,
            options
                .profile
                .as_ref()
                .map(|(p, _)| format!(" against profile {}", p.name))
                .unwrap_or_default()
        );
    }
    let probe = rt.block_on(probe::run(&options));
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&probe.report).unwrap_or_default()
        );
    } else {
        print!("{}", human(&probe.report));
    }
    if let Some(file) = &args.write {
        let Some(text) = probe::write::override_text(&probe, &options) else {
            eprintln!(
                "alertdesk: cannot write an override of {}",
                args.profile.as_deref().unwrap_or("?")
            );
            return ExitCode::FAILURE;
        };
        if let Err(e) = std::fs::write(file, text) {
            eprintln!("alertdesk: cannot write {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
        eprintln!("alertdesk: wrote {}", file.display());
    }
    match (
        probe.report.connection.connected,
        probe.report.connection.token_accepted,
    ) {
        (_, Some(false)) => ExitCode::from(EXIT_AUTH),
        (true, _) => ExitCode::SUCCESS,
        (false, _) => ExitCode::FAILURE,
    }
}

/// The token to try: --token, ALERTDESK_TOKEN, a sign-in with --username, or the one kept in the keyring.
fn find_token(
    args: &ProbeArgs,
    secrets: Secrets,
    profile: Option<&Profile>,
    server: &Server,
    set: &BTreeMap<String, String>,
    rt: &tokio::runtime::Runtime,
    net: &Net,
) -> Result<Option<Token>, ExitCode> {
    if let Some(token) = given_token(&args.token, secrets)? {
        return Ok(Some(token));
    }
    let Some(profile) = profile else {
        return Ok(None);
    };
    if let Some(username) = &args.username {
        let password =
            read_password(args.password_stdin, username, server.as_str()).map_err(usage_error)?;
        let vars = profile
            .resolve_variables(set)
            .map_err(|e| usage_error(variable_words(&e)))?;
        let signed_in = rt
            .block_on(auth::login(
                &net.http(),
                profile,
                server,
                username,
                &password,
                &vars,
                Target::discovers_base(profile, set),
            ))
            .map_err(|e| {
                eprintln!("alertdesk: {e}");
                ExitCode::from(EXIT_AUTH)
            })?;
        return Ok(Some(signed_in.credentials.token));
    }
    // The token kept for this server, if any; a keyring that cannot be read only means trying without one.
    Ok(KeyringStore
        .get(&auth::account(&profile.name, server))
        .unwrap_or_else(|e| {
            tracing::debug!("{e}");
            None
        }))
}

/// The findings as text, a section each.
fn human(report: &ProbeReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let c = &report.connection;
    let _ = writeln!(out, "Server   {}", report.server);
    let _ = writeln!(
        out,
        "Profile  {}",
        report.profile.as_deref().unwrap_or("(none)")
    );
    let _ = writeln!(
        out,
        "Socket   {}",
        match (&c.protocol, &c.path, c.connected) {
            (Some(p), Some(path), true) => format!("{p} at {path}: connected"),
            (Some(p), Some(path), false) => format!("{p} at {path}: not connected"),
            _ => "nothing answered".into(),
        }
    );
    let _ = writeln!(
        out,
        "Auth     {}",
        match (c.auth_needed, c.token_accepted) {
            (Some(false), _) => "the socket needs no token".to_string(),
            (Some(true), Some(true)) =>
                "the socket needs a token; the one given was accepted".into(),
            (Some(true), Some(false)) =>
                "the socket needs a token; the one given was refused".into(),
            (Some(true), None) => "the socket needs a token (none was given)".into(),
            (None, _) => "could not tell".into(),
        }
    );
    for attempt in &c.attempts {
        let _ = writeln!(out, "         - {attempt}");
    }
    if let Some(base) = &report.api_base {
        let _ = writeln!(
            out,
            "REST     {} ({})",
            alertdesk_core::link::base::shown(&base.base),
            if !base.answered {
                "no candidate answered".to_string()
            } else if base.base == base.profile_default {
                "as the profile says".to_string()
            } else {
                format!(
                    "the profile says {}",
                    alertdesk_core::link::base::shown(&base.profile_default)
                )
            }
        );
    }
    out.push_str(&events_text(report));
    out.push_str(&lists_and_advice_text(report));
    out
}

fn events_text(report: &ProbeReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "\nEvents");
    if report.events.is_empty() {
        let _ = writeln!(out, "  none arrived");
    }
    for e in &report.events {
        let rule = e.rule.map(|r| format!(" (rules[{r}])")).unwrap_or_default();
        let _ = writeln!(out, "  {} ×{}: {}{rule}", e.name, e.count, e.outcome);
        if let Some(title) = &e.title {
            let _ = writeln!(out, "    title: {title}");
        }
        for m in &e.missing {
            let _ = writeln!(out, "    missing, filled from the record: {m}");
        }
        for m in &e.fell_back {
            let _ = writeln!(out, "    missing, fallback used: {m}");
        }
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|f| format!("{}={}", f.path, f.sample))
            .collect();
        let _ = writeln!(out, "    fields: {}", fields.join(", "));
    }
    out
}

fn lists_and_advice_text(report: &ProbeReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if !report.lists.is_empty() {
        let _ = writeln!(out, "\nLists");
    }
    for l in &report.lists {
        let _ = writeln!(
            out,
            "  {}: {}, {}{}",
            l.list,
            l.status,
            l.shape.as_deref().unwrap_or("no answer"),
            if l.ok {
                format!(", {} records", l.records)
            } else {
                String::new()
            }
        );
        if let Some(error) = &l.error {
            let _ = writeln!(out, "    cannot be read: {error}");
        }
    }
    if !report.advice.is_empty() {
        let _ = writeln!(out, "\nAdvice");
        for a in &report.advice {
            let _ = writeln!(out, "  - {a}");
        }
    }
    out
}
