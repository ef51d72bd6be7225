//! Sessions that last the shift: each link's sign-in, renewed before it expires where the profile says how and
//! the login answered a refresh token, and otherwise announced before it ends ("Sign in again to Station 4: the
//! session ends at 14:30": one critical notification, a banner in the window, a notice for `listen`).
//!
//! Renewal runs as a task of the engine ([`crate::link::auth::refresh`]); the new token goes to the token store
//! (with the new refresh token) and into the running link, which swaps it in without losing an event (see
//! `link/supervisor/renew.rs`); a link that already ended starts again with it. A refresh token the server
//! refuses falls back to the warning. A link whose token the server refuses is renewed once before it counts as
//! signed out. Times are kept as wall-clock times and looked at again at least every 30 s, so a machine
//! that slept past a renewal renews as soon as it wakes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use ts_rs::TS;

use super::actor::{Actor, TaskEnd};
use super::servers::ServerEntry;
use super::view::{Notice, NoticeLevel};
use super::TokenSource;
use crate::domain::{ServerId, Timestamp, Token};
use crate::link::auth::{self, RefreshError, TokenStore};
use crate::link::session::{retry_delay, Credentials, Timing};
use crate::link::LinkState;
use crate::profile::Profile;

/// How often due times are looked at again at the latest (the monotonic clock stands still while the machine
/// sleeps; the wall clock does not).
pub(super) const RECHECK: Duration = Duration::from_secs(30);

/// A sign-in's lifetime, as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SessionView {
    /// When the token expires.
    pub expires_at: Timestamp,
    /// It is renewed before then, without the user.
    pub renews: bool,
    /// It cannot be renewed and ends soon (or ended): the window asks to sign in again.
    pub ending: bool,
}

/// What the sign-in form is filled with to sign in to a server again (only the password is asked for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SignInAgain {
    /// The profile as the form names it (a built-in name, or an imported profile's path).
    pub profile: String,
    /// The username last signed in with, where known.
    pub username: Option<String>,
    /// The profile variables as entered.
    pub vars: BTreeMap<String, String>,
}

/// One link's sign-in.
// Independent facts about the sign-in (renewable, under way, said, refused), not a state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug)]
pub(super) struct Session {
    pub(super) credentials: Credentials,
    /// The profile renews tokens and this one has a refresh token and a known end.
    renewable: bool,
    /// When the next renewal is due (none while one runs, or with nothing to renew).
    renew_due: Option<Timestamp>,
    renewing: bool,
    /// Renewals in a row that failed without being refused.
    failures: u32,
    /// When to say that it ends (none once said, or when its end is not known).
    warn_due: Option<Timestamp>,
    /// "Sign in again" was said for this token.
    warned: bool,
    /// The server refused this token and a renewal was started for it: a second refusal is final.
    refused: bool,
}

impl Session {
    pub(super) fn new(credentials: Credentials, profile: &Profile, timing: Timing) -> Self {
        let renewable = credentials.renews()
            && profile
                .auth
                .login
                .as_ref()
                .is_some_and(|l| l.refresh.is_some());
        let (renew_due, warn_due) = if renewable {
            // Warned only if it expires without having been renewed.
            (timing.renew_at(&credentials), credentials.expires_at)
        } else {
            (None, timing.warn_at(&credentials))
        };
        Self {
            credentials,
            renewable,
            renew_due,
            renewing: false,
            failures: 0,
            warn_due,
            warned: false,
            refused: false,
        }
    }

    /// What the window shows (none while the token's end is not known).
    pub(super) fn view(&self) -> Option<SessionView> {
        Some(SessionView {
            expires_at: self.credentials.expires_at?,
            renews: self.renewable,
            ending: self.warned,
        })
    }

    /// The earliest time something is due.
    fn due(&self) -> Option<Timestamp> {
        let renew = self.renew_due.filter(|_| !self.renewing);
        // A renewal under way gets its chance before the warning (it is looked at again when it ends).
        let warn = self.warn_due.filter(|_| !self.warned && !self.renewing);
        renew.into_iter().chain(warn).min()
    }
}

impl Actor {
    /// When a session next needs the actor (at most [`RECHECK`] ahead while any session waits for something).
    pub(super) fn session_deadline(&self) -> Option<Instant> {
        let due = self
            .links
            .values()
            .filter_map(|l| l.session.as_ref()?.due())
            .min()?;
        let wait = due
            .since(Timestamp::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        Some(Instant::now() + wait.min(RECHECK))
    }

    /// Starts the renewals and says the warnings that are due.
    pub(super) fn on_session_due(&mut self) {
        let now = Timestamp::now();
        let mut renew = Vec::new();
        let mut warn = Vec::new();
        for (server, link) in &mut self.links {
            let Some(session) = link.session.as_mut() else {
                continue;
            };
            if session.renew_due.is_some_and(|at| at <= now) && !session.renewing {
                session.renewing = true;
                session.renew_due = None;
                renew.push(server.clone());
            }
            if session.warn_due.is_some_and(|at| at <= now) && !session.warned && !session.renewing
            {
                warn.push(server.clone());
            }
        }
        for server in renew {
            self.start_renewal(&server);
        }
        for server in warn {
            self.warn_session(&server);
        }
    }

    fn start_renewal(&mut self, server: &ServerId) {
        let Some(link) = self.links.get(server) else {
            return;
        };
        let Some(session) = &link.session else {
            return;
        };
        let http = link.target.net.http();
        let profile = std::sync::Arc::clone(&link.target.profile);
        let target = link.target.server.clone();
        let vars = link.target.vars.clone();
        let credentials = session.credentials.clone();
        let id = server.clone();
        tracing::info!(server = %server, "renewing the sign-in");
        self.tasks.spawn(async move {
            let renewed = auth::refresh(&http, &profile, &target, &credentials, &vars).await;
            TaskEnd::Renewed(id, credentials.token, Box::new(renewed))
        });
    }

    /// A renewal of the token `from` ended: the new token is kept and taken into the link, or the renewal is
    /// tried again later, or (refused) the session is announced as ending.
    pub(super) async fn on_renewed(
        &mut self,
        server: ServerId,
        from: &Token,
        renewed: Result<Credentials, RefreshError>,
    ) {
        let Some(link) = self.links.get_mut(&server) else {
            return; // signed out meanwhile
        };
        let Some(session) = link.session.as_mut() else {
            return;
        };
        if session.credentials.token != *from {
            // Signed in again while it ran: the new sign-in stands, this result is for a token no longer used.
            tracing::info!(server = %server, "a renewal of an earlier sign-in ended; ignored");
            return;
        }
        session.renewing = false;
        match renewed {
            Ok(credentials) => {
                let account = auth::account(&link.target.profile.name, &link.target.server);
                self.keeper.keep(account, &credentials);
                let until = credentials.expires_at;
                tracing::info!(server = %server, until = ?until, "sign-in renewed");
                link.target.token = Some(credentials.token.clone());
                let refused = session.refused;
                *session = Session::new(credentials.clone(), &link.target.profile, self.timing);
                session.refused = refused;
                link.view.session = session.view();
                self.pending.servers = true;
                let label = link.view.label.clone();
                // The running link takes the token; one that already ended (refused) starts again with it.
                let taken = link
                    .tokens
                    .as_ref()
                    .is_some_and(|tx| tx.send(credentials.token.clone()).is_ok());
                if !taken {
                    let (entry, scripted) = (link.entry.clone(), link.view.scripted);
                    match self
                        .add(entry, TokenSource::SignedIn(credentials), scripted)
                        .await
                    {
                        // Renewed because the server refused the token: if it refuses the new one too before
                        // the link is live, that is final (no loop of renewals).
                        Ok(_) => {
                            if let Some(session) =
                                self.links.get_mut(&server).and_then(|l| l.session.as_mut())
                            {
                                session.refused = refused;
                            }
                        }
                        Err(e) => {
                            tracing::error!(server = %server, "cannot start the link again after renewing: {e}");
                        }
                    }
                }
                if let Some(policy) = self.policy.as_mut() {
                    policy.on_session_renewed(&server);
                }
                if let Some(expires_at) = until {
                    self.notice(
                        NoticeLevel::Info,
                        Notice::SessionRenewed {
                            server,
                            label,
                            expires_at,
                        },
                    );
                }
            }
            Err(e) if e.is_final() => {
                // Said to the user by the warning below; logged here.
                tracing::info!(server = %server, "{e}; the user must sign in again");
                session.credentials.refresh = None;
                session.renewable = false;
                session.warn_due = Some(Timestamp::now());
                self.keeper.forget_refresh(auth::account(
                    &link.target.profile.name,
                    &link.target.server,
                ));
                let stopped = link
                    .tokens
                    .as_ref()
                    .is_none_or(tokio::sync::watch::Sender::is_closed);
                if stopped && session.refused {
                    // The link ended refused and cannot be renewed: it is signed out, which the sign-out alarm
                    // and the banner say (a warning that it will end would come too late).
                    session.warned = true;
                    let state = LinkState::AuthFailed {
                        reason: e.to_string(),
                    };
                    self.deliver(&server, &crate::store::Delivered::State(state));
                    self.delivered_all();
                } else {
                    self.warn_session(&server);
                }
            }
            Err(e) => {
                session.failures += 1;
                let delay = retry_delay(session.failures - 1);
                tracing::warn!(server = %server, "{e}; trying again in {delay:?}");
                session.renew_due = Some(
                    Timestamp::now()
                        .plus(chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX)),
                );
            }
        }
    }

    /// A new sign-in to a server whose link still runs with the same profile and settings: the running link
    /// takes the new token (see `link/supervisor/renew.rs`) instead of starting again. `None`: start it anew.
    pub(super) fn take_sign_in(
        &mut self,
        entry: &ServerEntry,
        credentials: &Credentials,
        scripted: bool,
    ) -> Option<super::view::ServerView> {
        let id = crate::domain::Server::parse(&entry.url).ok()?.id();
        let link = self.links.get_mut(&id)?;
        // Another profile, other settings or another CA file need a new link.
        let same = link.entry.profile == entry.profile
            && link.entry.vars == entry.vars
            && link.entry.ca_file == entry.ca_file;
        if !same
            || link
                .tokens
                .as_ref()?
                .send(credentials.token.clone())
                .is_err()
        {
            return None;
        }
        link.target.token = Some(credentials.token.clone());
        link.session = Some(Session::new(
            credentials.clone(),
            &link.target.profile,
            self.timing,
        ));
        link.view.session = link.session.as_ref().and_then(Session::view);
        link.view.sign_in.username.clone_from(&entry.username);
        if !entry.label.is_empty() {
            link.view.label.clone_from(&entry.label);
        }
        link.entry = entry.clone();
        let view = link.view.clone();
        if let Some(policy) = self.policy.as_mut() {
            policy.on_session_renewed(&id);
        }
        self.remember(entry.clone(), scripted);
        self.pending.servers = true;
        tracing::info!(server = %id, "signed in again: the running link takes the new token");
        Some(view)
    }

    /// Says once that `server`'s sign-in ends and must be renewed by signing in again.
    pub(super) fn warn_session(&mut self, server: &ServerId) {
        let Some(link) = self.links.get_mut(server) else {
            return;
        };
        let Some(session) = link.session.as_mut() else {
            return;
        };
        if session.warned {
            return;
        }
        session.warned = true;
        let Some(expires_at) = session.credentials.expires_at else {
            return;
        };
        link.view.session = session.view();
        self.pending.servers = true;
        let label = link.view.label.clone();
        let local = expires_at.as_datetime().with_timezone(&chrono::Local);
        let ended = expires_at <= Timestamp::now();
        // The notice below is what the user sees (the window's banner, `listen`'s line): logged, not said twice.
        tracing::info!(server = %server, "the sign-in to {label} {} at {}: sign in again",
            if ended { "ended" } else { "ends" }, local.format("%H:%M"));
        if let Some(policy) = self.policy.as_mut() {
            policy.on_session_ending(server, &label, local.time(), ended);
        }
        self.notice(
            NoticeLevel::Warning,
            Notice::SessionEnding {
                server: server.clone(),
                label,
                expires_at,
            },
        );
    }

    /// A link state on its way to the views: a refusal of a token that can be renewed becomes a reconnect
    /// while the renewal runs (once per token). `None`: the state as it is.
    pub(super) fn session_state(
        &mut self,
        server: &ServerId,
        state: &LinkState,
    ) -> Option<LinkState> {
        let session = self.links.get_mut(server)?.session.as_mut()?;
        match state {
            LinkState::Live => {
                session.refused = false;
                None
            }
            LinkState::AuthFailed { reason } if session.renewable && !session.refused => {
                session.refused = true;
                if !session.renewing {
                    session.renew_due = Some(Timestamp::now());
                }
                tracing::info!(server = %server, "the server refused the token ({reason}); renewing the sign-in");
                Some(LinkState::Reconnecting {
                    retry_in_ms: 0,
                    reason: format!("{reason}; renewing the sign-in"),
                })
            }
            _ => None,
        }
    }
}

/// The credentials of `profile` on `server` from the token store: the token and, where the profile renews
/// tokens, the refresh token kept next to it. A store that fails is logged and counts as no token.
pub(super) async fn stored_credentials(
    tokens: &std::sync::Arc<dyn TokenStore>,
    profile: &Profile,
    server: &crate::domain::Server,
) -> Option<Credentials> {
    if profile.auth.mode == crate::profile::AuthMode::None {
        return None;
    }
    let account = auth::account(&profile.name, server);
    let renews = profile
        .auth
        .login
        .as_ref()
        .is_some_and(|l| l.refresh.is_some());
    let store = std::sync::Arc::clone(tokens);
    let read = tokio::task::spawn_blocking(move || {
        let token = store.get(&account)?;
        let refresh = if renews && token.is_some() {
            store.get(&auth::refresh_account(&account))?
        } else {
            None
        };
        Ok::<_, auth::KeyringError>(token.map(|t| (t, refresh)))
    })
    .await;
    match read {
        Ok(Ok(found)) => {
            found.map(|(token, refresh)| Credentials::of_token(token, refresh, Timestamp::now()))
        }
        Ok(Err(e)) => {
            tracing::warn!(server = %server, "cannot read the token: {e}");
            None
        }
        Err(e) => {
            tracing::warn!("token lookup failed: {e}");
            None
        }
    }
}

/// Writes to the token store off the actor's task (a slow keyring must not hold alerts back), one at a time and
/// in order: with rotating refresh tokens, an older write landing last would keep a spent refresh token.
pub(super) struct Keeper(tokio::sync::mpsc::UnboundedSender<Keep>);

/// One write.
enum Keep {
    /// A renewed sign-in: its token and refresh token.
    Credentials(String, Box<Credentials>),
    /// A refresh token the server refused.
    ForgetRefresh(String),
}

impl Keeper {
    /// Starts the writer on the current runtime.
    pub(super) fn start(tokens: std::sync::Arc<dyn TokenStore>) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Keep>();
        tokio::spawn(async move {
            while let Some(write) = rx.recv().await {
                let store = std::sync::Arc::clone(&tokens);
                let done = tokio::task::spawn_blocking(move || match write {
                    Keep::Credentials(account, credentials) => auth::keep(store.as_ref(), &account, &credentials)
                        .map_err(|e| format!("the renewed sign-in could not be kept: {e}; the next start needs a sign-in")),
                    Keep::ForgetRefresh(account) => store
                        .delete(&auth::refresh_account(&account))
                        .map(|_| ())
                        .map_err(|e| format!("cannot remove the refused refresh token: {e}")),
                })
                .await;
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(message)) => tracing::error!("{message}"),
                    Err(e) => tracing::error!("token store write failed: {e}"),
                }
            }
        });
        Self(tx)
    }

    fn keep(&self, account: String, credentials: &Credentials) {
        let _ = self
            .0
            .send(Keep::Credentials(account, Box::new(credentials.clone())));
    }

    fn forget_refresh(&self, account: String) {
        let _ = self.0.send(Keep::ForgetRefresh(account));
    }
}

/// The token of `token` for a link, as [`Credentials`] (none when connecting without).
pub(super) fn credentials_of(token: TokenSource) -> Option<Credentials> {
    match token {
        TokenSource::Given(token) => Some(Credentials::of_token(token, None, Timestamp::now())),
        TokenSource::SignedIn(credentials) => Some(credentials),
        TokenSource::Stored | TokenSource::Without => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Token;

    fn profile(refresh: bool) -> Profile {
        let mut text = String::from(
            "name = \"p\"\nprotocol = \"socketio\"\n[auth]\nmode = \"socketio\"\n[auth.login]\npath = \"/login\"\ntoken = \"token\"\nrefresh_token = \"refresh\"\n",
        );
        if refresh {
            text.push_str("[auth.login.refresh]\npath = \"/refresh\"\n");
        }
        text.push_str("[[rules]]\nevent = \"e\"\nkind = \"report\"\n");
        Profile::parse(&text, "t").unwrap()
    }

    fn timing() -> Timing {
        Timing {
            renew_before: Duration::from_secs(300),
            warn_before: Duration::from_secs(600),
        }
    }

    fn lasting(secs: u64, refresh: Option<&str>) -> Credentials {
        Credentials::new(
            Token::new("opaque"),
            refresh.map(Token::new),
            Some(secs),
            Timestamp::now(),
        )
    }

    #[test]
    fn a_renewable_session_renews_and_warns_only_if_it_expires_unrenewed() {
        let c = lasting(3600, Some("r"));
        let s = Session::new(c.clone(), &profile(true), timing());
        assert!(s.renewable);
        assert_eq!(s.renew_due, timing().renew_at(&c));
        assert_eq!(s.warn_due, c.expires_at, "no warning before its end");
        assert_eq!(s.due(), s.renew_due);
        let view = s.view().unwrap();
        assert!(view.renews && !view.ending);
    }

    #[test]
    fn a_session_that_cannot_be_renewed_warns_ahead() {
        // The profile renews, but this sign-in has no refresh token; and the other way round.
        for (c, p) in [
            (lasting(3600, None), profile(true)),
            (lasting(3600, Some("r")), profile(false)),
        ] {
            let s = Session::new(c.clone(), &p, timing());
            assert!(!s.renewable);
            assert_eq!(s.renew_due, None);
            assert_eq!(s.warn_due, timing().warn_at(&c));
            assert!(!s.view().unwrap().renews);
        }
        // A token whose end is unknown: nothing to do, nothing to show.
        let unknown = Credentials::of_token(Token::new("opaque"), None, Timestamp::now());
        let s = Session::new(unknown, &profile(false), timing());
        assert_eq!((s.due(), s.view()), (None, None));
    }

    #[test]
    fn nothing_is_due_twice() {
        let mut s = Session::new(lasting(10, None), &profile(false), timing());
        assert!(
            s.due().unwrap() <= Timestamp::now(),
            "shorter than the warning: due at once"
        );
        s.warned = true;
        assert_eq!(s.due(), None);
        let mut s = Session::new(lasting(10, Some("r")), &profile(true), timing());
        s.renewing = true;
        assert_eq!(
            s.due(),
            None,
            "a renewal under way is not started again, nor warned about before it ends"
        );
        s.renewing = false;
        assert_eq!(s.due(), s.renew_due.min(s.warn_due));
    }
}
