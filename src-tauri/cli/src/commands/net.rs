//! The network every connecting command takes (`[network]` in settings.toml, the proxy environment variables,
//! `--ca-file`), and `alertdesk proxy`: the `[network] proxy` password in the OS keyring, and which way a URL
//! goes.

use std::path::PathBuf;
use std::process::ExitCode;

use alertdesk_core::config::layers::Effective;
use alertdesk_core::config::paths::Paths;
use alertdesk_core::config::settings::NetworkSettings;
use alertdesk_core::link::auth::{KeyringStore, TokenStore};
use alertdesk_core::link::net::{self, Net, NetError, NetOptions, ProxyServer, PROXY_SETTING};
use clap::{Args, Subcommand};

use super::login::read_password;
use super::usage_error;

/// `--ca-file`, for every command that connects to a server.
#[derive(Debug, Clone, Default, Args)]
pub struct NetArgs {
    /// Also trust the certificate authorities in this PEM file (besides the system's and [network] ca_files):
    /// for a server whose certificate comes from your department's own CA.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

/// The network configuration from `network` (`[network]`), the proxy environment variables, the proxy
/// password in the OS keyring, and `extra_ca` files; its summary goes to the log. An error names the file or
/// setting at fault.
pub fn network(network: &NetworkSettings, extra_ca: &[PathBuf]) -> Result<Net, NetError> {
    let mut options = NetOptions::from_settings(network, &KeyringStore)?;
    options.ca_files.extend(extra_ca.iter().cloned());
    let built = Net::build(&options);
    match &built {
        Ok(net) => tracing::info!("network: {}", net.summary()),
        Err(e) => tracing::error!("network settings cannot be used: {e}"),
    }
    built
}

/// [`network`] for a command: the `[network]` in effect (the department's files under the user's, locks
/// kept; a broken file is left out, as said when logging started) and `--ca-file`; a failure is said on stderr
/// with exit code 2.
pub(crate) fn command_network(paths: &Paths, args: &NetArgs) -> Result<Net, ExitCode> {
    let settings = Effective::load(paths).settings;
    let extra: Vec<PathBuf> = args.ca_file.iter().cloned().collect();
    network(&settings.network, &extra).map_err(usage_error)
}

/// `alertdesk proxy ...`
#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Store the password of the [network] proxy's user in the OS keyring (asked for, or read from standard
    /// input); the settings file holds only the user, in the proxy URL.
    Login {
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove the [network] proxy's password from the OS keyring.
    Logout,
    /// Say which proxy a URL goes through (and where that was set), or that it goes direct.
    Show {
        /// The server URL, e.g. https://alerts.example.org.
        #[arg(value_name = "URL")]
        url: String,
    },
}

pub(crate) fn run(command: &ProxyCommand, paths: &Paths) -> ExitCode {
    // The proxy in effect (the department's files under the user's); a broken file is an error here, as the
    // proxy it would set is not known.
    let effective = Effective::load(paths);
    if let Some(problem) = effective.problems.first() {
        return usage_error(problem);
    }
    let settings = effective.settings;
    match command {
        ProxyCommand::Login { password_stdin } => {
            let proxy = match settings_proxy(&settings.network) {
                Ok(proxy) => proxy,
                Err(code) => return code,
            };
            let Some(user) = proxy.user.clone() else {
                return usage_error(format!(
                    "{PROXY_SETTING} names no user; write it in the URL: proxy = \"http://USER@{}\"",
                    proxy.authority()
                ));
            };
            let password = match read_password(*password_stdin, &user, &proxy.to_string()) {
                Ok(password) => password,
                Err(message) => return usage_error(message),
            };
            match KeyringStore.set(&net::proxy::account(&proxy), &password) {
                Ok(()) => {
                    println!("The password for {proxy} is in the OS keyring.");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("alertdesk: cannot store the proxy password: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        ProxyCommand::Logout => {
            let proxy = match settings_proxy(&settings.network) {
                Ok(proxy) => proxy,
                Err(code) => return code,
            };
            match KeyringStore.delete(&net::proxy::account(&proxy)) {
                Ok(true) => println!("The password for {proxy} was removed from the OS keyring."),
                Ok(false) => println!("No password was stored for {proxy}."),
                Err(e) => {
                    eprintln!("alertdesk: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        ProxyCommand::Show { url } => show(&settings.network, url),
    }
}

/// The `[network] proxy` setting, or why there is none to log in to (exit code 2).
fn settings_proxy(network: &NetworkSettings) -> Result<ProxyServer, ExitCode> {
    let Some(text) = &network.proxy else {
        return Err(usage_error(format!(
            "settings.toml sets no {PROXY_SETTING}; a proxy from HTTPS_PROXY carries its own credentials \
             (http://USER:PASSWORD@host:port)"
        )));
    };
    ProxyServer::parse(text, PROXY_SETTING, false).map_err(usage_error)
}

fn show(network: &NetworkSettings, text: &str) -> ExitCode {
    let url = match url::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https" | "ws" | "wss") => url,
        Ok(_) | Err(_) => {
            return usage_error(format!(
                "{text:?} is not an http://, https://, ws:// or wss:// URL"
            ))
        }
    };
    let options = match NetOptions::from_settings(network, &KeyringStore) {
        Ok(options) => options,
        Err(e) => return usage_error(e),
    };
    match options.proxies.route(&url) {
        Some(proxy) => {
            let password = match (&proxy.user, proxy.has_password()) {
                (None, _) => "",
                (Some(_), true) => ", with its password",
                (Some(_), false) => ", WITHOUT a password (alertdesk proxy login)",
            };
            println!(
                "{url} goes through the proxy {proxy} (set in {}{password})",
                proxy.from
            );
        }
        None if options.proxies.is_empty() => println!("{url} goes direct: no proxy is set"),
        None => println!("{url} goes direct: its host is among the proxy's exceptions (NO_PROXY)"),
    }
    ExitCode::SUCCESS
}
