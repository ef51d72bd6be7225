//! Starting, replacing and stopping links, and restoring the saved servers after start.

use std::sync::Arc;

use tokio::sync::{oneshot, watch};

use super::accounts::default_label;
use super::actor::{Actor, TaskEnd};
use super::error::EngineError;
use super::servers::{self, ServerEntry};
use super::session::{credentials_of, stored_credentials, Session, SignInAgain};
use super::view::{Notice, NoticeLevel, Progress, ServerView};
use super::TokenSource;
use crate::alerting::policy::Now;
use crate::domain::{Server, ServerId, Timestamp, Token};
use crate::link::auth;
use crate::link::{base, Cursors, LinkState, Reporter, Supervisor, Target};
use crate::profile::{AuthMode, Profile};

/// One server's link, as the engine keeps it.
pub(super) struct Link {
    pub(super) view: ServerView,
    pub(super) target: Target,
    /// What it was started from (to start it again with a renewed sign-in).
    pub(super) entry: ServerEntry,
    /// Its sign-in, when it has a token.
    pub(super) session: Option<Session>,
    /// Hands a renewed token to the running supervisor.
    pub(super) tokens: Option<watch::Sender<Token>>,
    /// It was live at least once (its `down_since` then marks an outage, not the start).
    pub(super) was_live: bool,
    /// Stops the supervisor (sent when the link is dropped).
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The reason shown when a server that needs a token has none.
const NO_TOKEN: &str = "no token in the keyring";

impl Actor {
    /// Connects the department's servers, then every saved server, in order, with progress in the views. A
    /// server that cannot be connected stays saved (its profile file may be back at the next start) and is
    /// reported. A saved server the department lists too is the department's.
    pub(super) async fn restore_saved(&mut self) {
        let Some(file) = self.servers_file.clone() else {
            return;
        };
        let (managed, problems) = servers::load_system(&self.system_dirs);
        for message in problems {
            tracing::error!("{message}");
            self.notice(
                NoticeLevel::Error,
                Notice::DepartmentFileInvalid { message },
            );
        }
        let (saved, error) = servers::load(&file);
        if let Some(message) = error {
            tracing::error!("{message}");
            self.notice(NoticeLevel::Error, Notice::ServersFileInvalid { message });
        }
        self.managed.clone_from(&managed);
        let entries: Vec<ServerEntry> = managed
            .into_iter()
            .chain(saved.into_iter().filter(|e| !self.is_managed(e)))
            .collect();
        let total = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        if total == 0 {
            return;
        }
        self.restoring = Some(Progress { done: 0, total });
        self.pending.servers = true;
        for (done, entry) in (1..).zip(entries) {
            if let Err(e) = self.add(entry.clone(), TokenSource::Stored, false).await {
                tracing::error!(server = %entry.url, "cannot connect a saved server: {e}");
                self.notice(
                    NoticeLevel::Error,
                    Notice::ConnectFailed {
                        server: entry.url.clone(),
                        error: e.view(),
                    },
                );
                if !self.is_managed(&entry) {
                    self.entries.push(entry);
                }
            }
            self.restoring = Some(Progress { done, total });
            self.pending.servers = true;
        }
        self.restoring = None;
        self.pending.servers = true;
    }

    /// Starts (or restarts) the link of `entry`.
    pub(super) async fn add(
        &mut self,
        entry: ServerEntry,
        token: TokenSource,
        scripted: bool,
    ) -> Result<ServerView, EngineError> {
        let profile = Profile::load(&entry.profile)?;
        let server = Server::parse(&entry.url)?;
        let vars = profile.resolve_variables(&entry.vars)?;
        let id = server.id();
        self.one_profile_per_server(&id, &profile.name)?;
        let credentials = match token {
            TokenSource::Stored => stored_credentials(&self.tokens, &profile, &server).await,
            other => credentials_of(other),
        };
        // Signed in again while the link still runs (before the old token ended): it takes the new token
        // without going down.
        if let Some(view) = credentials
            .as_ref()
            .and_then(|c| self.take_sign_in(&entry, c, scripted))
        {
            return Ok(view);
        }
        let token = credentials.as_ref().map(|c| c.token.clone());
        let (s, p) = (id.clone(), profile.name.clone());
        let stored = self.history.call(move |st| st.cursor(&s, &p)).await?;
        let lists: Vec<String> = profile
            .backfill
            .iter()
            .map(crate::profile::Backfill::key)
            .collect();
        let cursor = stored.and_then(|text| Cursors::from_stored(&text, &lists));
        let (net, unencrypted) = self.link_net(&entry, &server)?;
        let needs_token = profile.auth.mode != AuthMode::None && !profile.auth.optional;
        let missing_token = needs_token && token.is_none();
        let discover_base = Target::discovers_base(&profile, &entry.vars);
        let mut vars = vars;
        if let Some(found) = cursor
            .as_ref()
            .and_then(Cursors::api_base)
            .filter(|_| discover_base)
        {
            // What the last run found, until this one finds otherwise (write-backs use it too).
            vars.insert(base::VARIABLE.into(), found.to_string());
        }
        let target = Target {
            profile: Arc::new(profile),
            server: server.clone(),
            vars,
            token,
            cursor,
            discover_base,
            net,
        };
        let session = credentials.map(|c| Session::new(c, &target.profile, self.timing));
        // A link started again (a new sign-in) after it was down: its first catch-up covers that time.
        let down_since = self
            .links
            .get(&id)
            .filter(|l| l.was_live)
            .and_then(|l| l.view.down_since);
        let managed = !scripted && self.is_managed(&entry);
        let kind = ViewKind {
            scripted,
            managed,
            unencrypted,
        };
        let mut view = new_view(&entry, &target, kind, session.as_ref());
        let (stop, tokens) = if missing_token {
            view.link = LinkState::AuthFailed {
                reason: NO_TOKEN.into(),
            };
            view.down_since = Some(view.since);
            (None, None)
        } else {
            let (stop, tokens) = self.start_link(&id, &target, down_since)?;
            (Some(stop), tokens)
        };
        let out = view.clone();
        self.offer_responses(&id, &target.profile);
        if let Some(policy) = self.policy.as_mut() {
            // A new sign-in: a "sign in again" on screen has been answered.
            policy.on_session_renewed(&id);
        }
        // Replacing a link stops the old one (its Drop).
        self.links.insert(
            id,
            Link {
                view,
                target,
                entry: entry.clone(),
                session,
                tokens,
                was_live: down_since.is_some(),
                stop,
            },
        );
        self.remember(entry, scripted);
        self.pending.servers = true;
        Ok(out)
    }

    /// A server has one link, with one profile: another profile for it is refused.
    fn one_profile_per_server(&self, id: &ServerId, profile: &str) -> Result<(), EngineError> {
        match self.links.get(id).filter(|l| l.view.profile != profile) {
            Some(other) => Err(EngineError::AlreadySignedIn {
                server: id.clone(),
                profile: other.view.profile.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Saves `entry` among the user's servers (replacing what was saved for it), unless it is scripted for this
    /// run or one of the department's.
    pub(super) fn remember(&mut self, entry: ServerEntry, scripted: bool) {
        if scripted || self.servers_file.is_none() || self.is_managed(&entry) {
            return;
        }
        self.entries
            .retain(|e| !(e.url == entry.url && e.profile == entry.profile));
        self.entries.push(entry);
        self.save_entries();
    }

    /// Whether `entry` is one of the department's servers (the same address and profile).
    pub(super) fn is_managed(&self, entry: &ServerEntry) -> bool {
        let id = |url: &str| Server::parse(url).map(|s| s.id()).ok();
        self.managed
            .iter()
            .any(|m| m.profile == entry.profile && id(&m.url) == id(&entry.url))
    }

    /// The network `entry`'s link takes (its own CA file added), and whether it crosses it unencrypted (said in
    /// the log).
    fn link_net(
        &self,
        entry: &ServerEntry,
        server: &Server,
    ) -> Result<(crate::link::net::Net, bool), EngineError> {
        let net = self
            .net
            .clone()?
            .with_optional_ca_file(entry.ca_file.as_deref())?;
        let unencrypted = crate::link::net::unencrypted(server.url());
        if unencrypted {
            tracing::warn!(
                server = %server,
                "{server} is reached over unencrypted http://: alerts and credentials cross the network in the clear"
            );
        }
        Ok((net, unencrypted))
    }

    /// Starts `target`'s supervisor as a task of the engine; returns the sender that stops it and the one that
    /// hands it renewed tokens.
    fn start_link(
        &mut self,
        id: &ServerId,
        target: &Target,
        down_since: Option<Timestamp>,
    ) -> Result<(oneshot::Sender<()>, Option<watch::Sender<Token>>), EngineError> {
        let mut supervisor =
            Supervisor::new(target.clone(), self.heartbeat)?.with_down_since(down_since);
        if let Some(wake) = &self.wake {
            supervisor = supervisor.with_wake(wake.clone());
        }
        let (tokens, supervisor) = match target.token.clone() {
            Some(token) => {
                let (tx, rx) = watch::channel(token);
                (Some(tx), supervisor.with_tokens(rx))
            }
            None => (None, supervisor),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let reporter = Reporter::new(id.clone(), self.updates_tx.clone());
        let link_id = id.clone();
        self.tasks.spawn(async move {
            let outcome = supervisor
                .run(reporter, async move {
                    let _ = stopped.await;
                })
                .await;
            TaskEnd::Link(link_id, outcome)
        });
        Ok((stop, tokens))
    }

    /// Tells the policy which status responses the server's notifications offer.
    fn offer_responses(&mut self, server: &ServerId, profile: &Profile) {
        if let Some(policy) = self.policy.as_mut() {
            let offered = profile
                .responses
                .iter()
                .map(|r| crate::alerting::policy::Offered {
                    name: r.name.clone(),
                    label: r.label.clone(),
                    kinds: r.kinds.clone(),
                })
                .collect();
            policy.set_responses(server, offered);
        }
    }

    /// Stops and forgets a server's link; returns the keyring account to clear when it was saved (a scripted
    /// server's token is not ours to remove).
    pub(super) fn remove(&mut self, server: &ServerId) -> Result<Option<String>, EngineError> {
        let link = self
            .links
            .get(server)
            .ok_or_else(|| EngineError::UnknownServer(server.clone()))?;
        if link.view.managed {
            return Err(EngineError::Managed {
                server: server.clone(),
            });
        }
        let link = self
            .links
            .remove(server)
            .ok_or_else(|| EngineError::UnknownServer(server.clone()))?;
        let scripted = link.view.scripted;
        let profile = link.view.profile.clone();
        self.entries.retain(|e| {
            !(e.url == server.as_str()
                && Profile::load(&e.profile).is_ok_and(|p| p.name == profile))
        });
        if !scripted {
            self.save_entries();
        }
        if let Some(policy) = self.policy.as_mut() {
            policy.set_responses(server, Vec::new());
            policy.on_link_state(
                server,
                &link.view.label,
                &LinkState::Stopped,
                Now::current(),
            );
        }
        self.pending.reset = true;
        tracing::info!(server = %server, "signed out");
        Ok((!scripted).then(|| auth::account(&profile, &link.target.server)))
    }

    pub(super) fn save_entries(&mut self) {
        let Some(file) = &self.servers_file else {
            return;
        };
        if let Err(e) = servers::save(file, &self.entries) {
            let message = format!("{}: {e}", file.display());
            tracing::error!("cannot save the server list to {message}");
            self.notice(
                NoticeLevel::Warning,
                Notice::ServersFileNotSaved { message },
            );
        }
    }

    /// A task ended: a link's supervisor (by itself on rejected credentials; a stopped one was asked to), or an
    /// attempt to send a response.
    pub(super) async fn on_task_end(&mut self, end: TaskEnd) {
        match end {
            TaskEnd::Link(server, outcome) => {
                tracing::debug!(server = %server, ?outcome, "link ended");
            }
            TaskEnd::Response(attempt) => self.on_response(*attempt).await,
            TaskEnd::Renewed(server, from, renewed) => {
                self.on_renewed(server, &from, *renewed).await;
            }
        }
    }
}

/// A link's view as it starts: connecting.
/// What a server's view says about where it comes from and how it is reached.
#[derive(Clone, Copy)]
// Three independent facts, each a yes or no.
#[allow(clippy::struct_excessive_bools)]
struct ViewKind {
    scripted: bool,
    managed: bool,
    unencrypted: bool,
}

fn new_view(
    entry: &ServerEntry,
    target: &Target,
    kind: ViewKind,
    session: Option<&Session>,
) -> ServerView {
    ServerView {
        server: target.server.id(),
        label: if entry.label.is_empty() {
            default_label(&target.profile, &target.server)
        } else {
            entry.label.clone()
        },
        profile: target.profile.name.clone(),
        demo: entry.demo,
        scripted: kind.scripted,
        managed: kind.managed,
        link: LinkState::Connecting,
        since: Timestamp::now(),
        down_since: None,
        latency_ms: None,
        unread: 0,
        unencrypted: kind.unencrypted,
        ca_file: entry.ca_file.as_ref().map(|p| p.display().to_string()),
        session: session.and_then(Session::view),
        sign_in: SignInAgain {
            profile: entry.profile.clone(),
            username: entry.username.clone(),
            vars: entry.vars.clone(),
        },
    }
}
