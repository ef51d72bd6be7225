//! Where the desk's events leave the core: to the web UI over a Tauri channel, and to the window title and the
//! tray.

use std::sync::Mutex;

use alertdesk_core::engine::{DeskEvent, ServerView, Sink};
use alertdesk_core::link::LinkState;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, UserAttentionType};

use crate::desktop::{show_main_window, MAIN_WINDOW};
use crate::tray;

/// The web UI's subscription.
pub(crate) struct UiSink(pub(crate) Channel<DeskEvent>);

impl Sink for UiSink {
    fn send(&self, event: &DeskEvent) -> bool {
        self.0.send(event.clone()).is_ok()
    }
}

/// What the tray and the title show; redrawn only when it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Badge {
    /// Unread alerts in all.
    pub(crate) unread: u64,
    /// A server is down (reconnecting, or its credentials were refused).
    pub(crate) offline: bool,
    /// One line per server: "Station 4: 2 unread, live".
    pub(crate) servers: Vec<String>,
}

impl Badge {
    pub(crate) fn of(unread: u64, servers: &[ServerView]) -> Self {
        Self {
            unread,
            offline: servers.iter().any(|s| s.link.is_down()),
            servers: servers
                .iter()
                .map(|s| format!("{}: {} unread, {}", s.label, s.unread, state_word(&s.link)))
                .collect(),
        }
    }

    /// "Alertdesk (3)", or "Alertdesk" with nothing unread.
    pub(crate) fn title(&self) -> String {
        if self.unread == 0 {
            "Alertdesk".into()
        } else {
            format!("Alertdesk ({})", self.unread)
        }
    }
}

fn state_word(link: &LinkState) -> &'static str {
    match link {
        LinkState::Connecting => "connecting",
        LinkState::Live => "live",
        LinkState::Reconnecting { .. } => "reconnecting",
        LinkState::Polling { .. } => "polling",
        LinkState::AuthFailed { .. } => "sign in again",
        LinkState::Stopped => "stopped",
    }
}

/// The shell's own subscription: window title, tray, focus and escalation.
pub(crate) struct ShellSink {
    app: AppHandle,
    shown: Mutex<Option<Badge>>,
}

impl ShellSink {
    pub(crate) fn new(app: AppHandle) -> Self {
        Self {
            app,
            shown: Mutex::new(None),
        }
    }

    fn badge(&self, badge: Badge) {
        let mut shown = self
            .shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shown.as_ref() == Some(&badge) {
            return;
        }
        if let Some(window) = self.app.get_webview_window(MAIN_WINDOW) {
            if let Err(e) = window.set_title(&badge.title()) {
                tracing::warn!("cannot set the window title: {e}");
            }
        }
        tray::show_badge(&self.app, &badge);
        *shown = Some(badge);
    }
}

impl Sink for ShellSink {
    fn send(&self, event: &DeskEvent) -> bool {
        match event {
            DeskEvent::Snapshot(s) => self.badge(Badge::of(s.unread, &s.servers)),
            DeskEvent::Batch(b) => self.badge(Badge::of(b.unread, &b.servers)),
            DeskEvent::Focus { escalate, id, .. } => {
                show_main_window(&self.app);
                if *escalate {
                    tracing::warn!(alert = %id, "escalation: window to the front");
                    if let Some(window) = self.app.get_webview_window(MAIN_WINDOW) {
                        if let Err(e) =
                            window.request_user_attention(Some(UserAttentionType::Critical))
                        {
                            tracing::warn!("cannot request attention: {e}");
                        }
                    }
                }
            }
            // "Sign in again" from a notification: the window comes forward with the form.
            DeskEvent::SignIn { .. } => show_main_window(&self.app),
            DeskEvent::Notice { .. } => {}
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use alertdesk_core::domain::{ServerId, Timestamp};

    use super::*;

    fn server(label: &str, unread: u64, link: LinkState) -> ServerView {
        ServerView {
            server: ServerId::from_stored(&format!("http://{label}")),
            label: label.into(),
            profile: "p".into(),
            demo: false,
            scripted: false,
            managed: false,
            link,
            since: Timestamp::now(),
            down_since: None,
            latency_ms: None,
            unread,
            unencrypted: false,
            ca_file: None,
            session: None,
            sign_in: alertdesk_core::engine::SignInAgain {
                profile: "p".into(),
                username: None,
                vars: std::collections::BTreeMap::new(),
            },
        }
    }

    #[test]
    fn the_badge_counts_and_notices_a_server_down() {
        let live = Badge::of(3, &[server("a", 3, LinkState::Live)]);
        assert_eq!(live.title(), "Alertdesk (3)");
        assert!(!live.offline);
        assert_eq!(live.servers, ["a: 3 unread, live"]);
        let down = Badge::of(
            0,
            &[
                server("a", 0, LinkState::Live),
                server(
                    "b",
                    0,
                    LinkState::Reconnecting {
                        retry_in_ms: 1,
                        reason: String::new(),
                    },
                ),
            ],
        );
        assert_eq!(down.title(), "Alertdesk");
        assert!(down.offline);
        let polling = Badge::of(
            0,
            &[server(
                "a",
                0,
                LinkState::Polling {
                    every_s: 10,
                    reason: String::new(),
                },
            )],
        );
        assert!(!polling.offline, "polling still delivers alerts");
    }
}
