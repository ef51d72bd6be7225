//! "Try the demo": the built-in demo backend (crate alertdesk-demo) inside the app, on a loopback port, signed
//! in through the normal path (login request, token in the OS keyring). A saved demo server is started again on
//! its port at the next start and signed in anew (the demo's tokens live only as long as it runs).

use std::collections::BTreeMap;
use std::sync::Arc;

use alertdesk_core::config::paths::Paths;
use alertdesk_core::domain::Server;
use alertdesk_core::domain::Token;
use alertdesk_core::engine::{servers, SignInForm};
use alertdesk_core::link::auth::{self, TokenStore};
use alertdesk_core::link::net::{Net, NetError};
use alertdesk_core::profile::Profile;
use alertdesk_demo::{DemoConfig, DemoServer};
use tokio::sync::Mutex;

/// The demo's profile and the user the app signs in as (assignments to this officer are "assigned to me").
const PROFILE: &str = "demo";
const USER: &str = "officer";
const PASSWORD: &str = "demo";

/// The running demo backend, if any.
#[derive(Default)]
pub(crate) struct DemoBackend(Mutex<Option<DemoServer>>);

impl DemoBackend {
    /// Starts the demo on 127.0.0.1:`port` (0: a free one) unless it runs already; returns its URL.
    pub(crate) async fn start(&self, port: u16) -> std::io::Result<String> {
        let mut running = self.0.lock().await;
        if let Some(server) = running.as_ref() {
            return Ok(server.url());
        }
        // Livelier than `alertdesk demo`'s default: a new user should see the list move within seconds.
        let config = DemoConfig {
            port,
            rate_per_min: 30.0,
            ..DemoConfig::default()
        };
        let server = alertdesk_demo::start(config).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot start the demo backend: {e}"))
        })?;
        let url = server.url();
        tracing::info!(%url, "demo backend started in the app");
        *running = Some(server);
        Ok(url)
    }

    /// Before the desk connects the saved servers: starts a saved demo again on its port and stores a fresh
    /// token, so it connects like any other server.
    pub(crate) async fn restart_saved(
        &self,
        paths: &Paths,
        tokens: Arc<dyn TokenStore>,
        net: Result<Net, NetError>,
    ) {
        let saved = servers::peek(&paths.config_dir.join(servers::FILE_NAME));
        let Some(entry) = saved.into_iter().find(|e| e.demo) else {
            return;
        };
        // Without a network configuration the engine reports every server, this one too.
        let Ok(net) = net else {
            return;
        };
        let port = url::Url::parse(&entry.url)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or(0);
        let result = async {
            let url = self.start(port).await.map_err(|e| e.to_string())?;
            let profile = Profile::load(PROFILE).map_err(|e| e.to_string())?;
            let server = Server::parse(&url).map_err(|e| e.to_string())?;
            let vars = profile
                .resolve_variables(&entry.vars)
                .map_err(|e| e.to_string())?;
            let token = auth::login(
                &net.http(),
                &profile,
                &server,
                USER,
                &Token::new(PASSWORD),
                &vars,
                false,
            )
            .await
            .map_err(|e| e.to_string())?
            .credentials
            .token;
            let account = auth::account(&profile.name, &server);
            tokio::task::spawn_blocking(move || tokens.set(&account, &token))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(e) = result {
            tracing::error!("the saved demo server could not be started again: {e}");
        }
    }
}

/// The sign-in form for the demo at `url`.
pub(crate) fn form(url: &str) -> SignInForm {
    SignInForm {
        profile: PROFILE.into(),
        server: url.into(),
        label: Some("Demo".into()),
        vars: BTreeMap::new(),
        username: USER.into(),
        password: PASSWORD.into(),
        ca_file: None,
    }
}
