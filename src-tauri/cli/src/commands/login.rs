//! `alertdesk login` and `alertdesk logout`: the token goes to the OS keyring and nowhere else.

use std::io::BufRead;
use std::process::ExitCode;

use alertdesk_core::config::paths::Paths;
use alertdesk_core::domain::Token;
use alertdesk_core::link::auth::{self, KeyringStore, LoginError};
use alertdesk_core::link::Target;
use clap::Args;

use super::net::{command_network, NetArgs};
use super::{parse_key_value, resolve, runtime, usage_error};
use crate::EXIT_AUTH;

/// `alertdesk login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Built-in profile name or a profile file.
    #[arg(long, short = 'p', value_name = "NAME|FILE")]
    pub profile: String,
    /// The backend, e.g. https://dispatch.example.org.
    #[arg(long, short = 's', value_name = "URL")]
    pub server: Option<String>,
    /// Your username.
    #[arg(long, short = 'u')]
    pub username: String,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// Set a profile variable the login request uses (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// TLS: a certificate authority file to trust.
    #[command(flatten)]
    pub net: NetArgs,
}

/// `alertdesk logout`
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Built-in profile name or a profile file.
    #[arg(long, short = 'p', value_name = "NAME|FILE")]
    pub profile: String,
    /// The backend you signed in to.
    #[arg(long, short = 's', value_name = "URL")]
    pub server: Option<String>,
}

pub(crate) fn login(args: &LoginArgs, paths: &Paths) -> ExitCode {
    let (profile, server, vars) = match resolve(&args.profile, args.server.as_deref(), &args.set) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    if profile.auth.login.is_none() {
        return usage_error(LoginError::NoLogin(profile.name.clone()));
    }
    let net = match command_network(paths, &args.net) {
        Ok(net) => net,
        Err(code) => return code,
    };
    if alertdesk_core::link::net::unencrypted(server.url()) {
        tracing::warn!(
            "{server} is reached over unencrypted http://: the password crosses the network in the clear"
        );
    }
    let password = match read_password(args.password_stdin, &args.username, &server.to_string()) {
        Ok(p) => p,
        Err(message) => return usage_error(message),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let http = net.http();
    let set: std::collections::BTreeMap<String, String> = args.set.iter().cloned().collect();
    let result = rt.block_on(auth::login(
        &http,
        &profile,
        &server,
        &args.username,
        &password,
        &vars,
        Target::discovers_base(&profile, &set),
    ));
    let credentials = match result {
        Ok(signed_in) => {
            if let Some(found) = &signed_in.api_base {
                println!(
                    "The API of {server} is at {} (not {}): `listen` finds it too; --set api_base={found} fixes it.",
                    alertdesk_core::link::base::shown(found),
                    vars.get("api_base").map_or("none", |b| alertdesk_core::link::base::shown(b))
                );
            }
            if let Some(why) = &signed_in.unrenewable {
                eprintln!("alertdesk: warning: {why}");
            }
            signed_in.credentials
        }
        Err(e @ LoginError::Rejected { .. }) => {
            eprintln!("alertdesk: {e}");
            return ExitCode::from(EXIT_AUTH);
        }
        Err(e) => {
            eprintln!("alertdesk: {e}");
            return ExitCode::FAILURE;
        }
    };
    let account = auth::account(&profile.name, &server);
    if let Err(e) = auth::keep(&KeyringStore, &account, &credentials) {
        eprintln!("alertdesk: signed in, but cannot store the token: {e}");
        return ExitCode::FAILURE;
    }
    tracing::info!(%account, "token stored in the OS keyring");
    println!(
        "Signed in to {server} as {} ({}); the token is in the OS keyring.",
        args.username, profile.name
    );
    if let Some(ends) = credentials.expires_at {
        let ends = ends.as_datetime().with_timezone(&chrono::Local);
        let renews = credentials.refresh.is_some()
            && profile
                .auth
                .login
                .as_ref()
                .is_some_and(|l| l.refresh.is_some());
        if renews {
            println!(
                "The sign-in is renewed before it expires ({}).",
                ends.format("%H:%M")
            );
        } else {
            println!(
                "The sign-in ends at {}: sign in again before then.",
                ends.format("%Y-%m-%d %H:%M")
            );
        }
    }
    ExitCode::SUCCESS
}

pub(crate) fn logout(args: &LogoutArgs) -> ExitCode {
    let (profile, server, _) = match resolve(&args.profile, args.server.as_deref(), &[]) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let account = auth::account(&profile.name, &server);
    match auth::forget(&KeyringStore, &account) {
        Ok(true) => {
            println!(
                "Signed out of {server} ({}); the token was removed from the OS keyring.",
                profile.name
            );
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("No token was stored for {server} ({}).", profile.name);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("alertdesk: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn read_password(
    from_stdin: bool,
    username: &str,
    server: &str,
) -> Result<Token, String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        rpassword::prompt_password(format!("Password for {username} at {server}: "))
            .map_err(|e| format!("cannot ask for the password ({e}); use --password-stdin"))?
    };
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    Ok(Token::new(password))
}
