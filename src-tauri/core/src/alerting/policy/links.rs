//! Link alarms: a server unreachable for `link_alarm_after_secs` while on duty raises one alarm, and one notice
//! when it is back; rejected credentials raise it at once, with a "Sign in again" button. A sign-in that cannot
//! be renewed is announced before it ends, with the same button.

use chrono::NaiveTime;
use tokio::time::Instant;

use super::notification::{open_action, sign_in_action};
use super::{Now, Policy};
use crate::alerting::notify::{AlertKey, Category, Expire, Notification, NotificationId, Urgency};
use crate::domain::{Priority, ServerId};
use crate::link::LinkState;

/// One server's link, as far as alarms go.
#[derive(Debug, Default)]
pub(super) struct Link {
    /// What the user calls the server, for messages.
    pub(super) label: String,
    /// When it became unreachable (monotonic, and local for the message).
    pub(super) down_since: Option<(Instant, NaiveTime)>,
    /// The server refused the credentials: alarm at once.
    pub(super) auth_failed: bool,
    /// The alarm for this outage was shown: never twice.
    pub(super) alarmed: bool,
    /// The alarm on screen, when it was shown.
    pub(super) alarm_shown: Option<NotificationId>,
}

impl Policy {
    /// A server's link changed state. `label` is the name used in messages ("Station 4").
    pub fn on_link_state(&mut self, server: &ServerId, label: &str, state: &LinkState, now: Now) {
        let link = self.links.entry(server.clone()).or_default();
        label.clone_into(&mut link.label);
        match state {
            LinkState::Connecting | LinkState::Reconnecting { .. } => {
                link.down_since.get_or_insert((now.instant, now.local));
            }
            LinkState::AuthFailed { .. } => {
                let since = *link.down_since.get_or_insert((now.instant, now.local));
                link.auth_failed = true;
                if !link.alarmed {
                    self.raise_link_alarm(server, since.1, true);
                }
            }
            LinkState::Live | LinkState::Polling { .. } => {
                let shown = link.alarm_shown.take();
                *link = Link {
                    label: label.to_string(),
                    ..Link::default()
                };
                if let Some(id) = shown {
                    self.notifier.close(id);
                    let notification = Notification {
                        summary: format!("Connection to {label} is back"),
                        body: format!("Alerts from {label} are arriving again."),
                        urgency: Urgency::Normal,
                        sound: self.tone(Priority::Normal),
                        expire: Expire::Default,
                        actions: vec![open_action()],
                        alert: None,
                        category: Category::Link,
                        repeat: 0,
                    };
                    self.show(&notification);
                }
            }
            LinkState::Stopped => {
                // Stopped on request: not an outage. An alarm already on screen stays until dismissed.
                self.links.remove(server);
            }
        }
    }

    /// Links down and not alarmed yet, with when their alarm is due (none while off duty or silenced).
    pub(super) fn links_to_alarm(&self) -> impl Iterator<Item = (&ServerId, &Link, Instant)> {
        let active = self.settings.on_duty && !self.silence_everything;
        let after = self.settings.link_alarm_after();
        self.links
            .iter()
            .filter(move |(_, link)| active && !link.alarmed)
            .filter_map(move |(server, link)| {
                let (since, _) = link.down_since?;
                let at = if link.auth_failed {
                    since
                } else {
                    since + after
                };
                Some((server, link, at))
            })
    }

    pub(super) fn raise_link_alarm(&mut self, server: &ServerId, since: NaiveTime, auth: bool) {
        let Some(link) = self.links.get_mut(server) else {
            return;
        };
        let label = link.label.clone();
        // Off duty or silenced, the alarm waits: going on duty or lifting the silence raises it at the next tick.
        if !self.settings.on_duty || self.silence_everything {
            return;
        }
        link.alarmed = true;
        let (summary, body) = if auth {
            (
                format!("Signed out of {label} — sign in again"),
                format!("{label} refused the sign-in; no alerts arrive from it until you sign in again."),
            )
        } else {
            (
                format!(
                    "No connection to {label} since {} — alerts may be missed",
                    since.format("%H:%M")
                ),
                "Alertdesk keeps trying to reconnect; check the network.".to_string(),
            )
        };
        let notification = Notification {
            summary,
            body,
            urgency: Urgency::Critical,
            sound: self.tone(Priority::High),
            expire: Expire::Never,
            // Signed out: the one thing to do is to sign in again, and the button opens that.
            actions: vec![if auth {
                sign_in_action()
            } else {
                open_action()
            }],
            alert: auth.then(|| AlertKey::of_server(server)),
            category: Category::Link,
            repeat: 0,
        };
        if auth {
            // It says what the warning said, and more: one on screen.
            if let Some(warning) = self.sessions.remove(server) {
                self.notifier.close(warning);
            }
        }
        let id = self.show(&notification);
        if let Some(link) = self.links.get_mut(server) {
            link.alarm_shown = id;
        }
    }

    /// A sign-in that cannot be renewed ends at `ends` (local time; `ended`: it already has): one critical
    /// notification whose button opens the sign-in. Not while off duty or silenced (the window still says so).
    pub fn on_session_ending(
        &mut self,
        server: &ServerId,
        label: &str,
        ends: NaiveTime,
        ended: bool,
    ) {
        if !self.settings.on_duty || self.silence_everything || self.sessions.contains_key(server) {
            return;
        }
        let at = ends.format("%H:%M");
        let summary = if ended {
            format!("Sign in again to {label}: the session ended at {at}")
        } else {
            format!("Sign in again to {label}: the session ends at {at}")
        };
        let notification = Notification {
            summary,
            body: format!(
                "Alerts from {label} stop arriving when the sign-in ends. Sign in again: only the password is \
                 needed, and what was missed is caught up."
            ),
            urgency: Urgency::Critical,
            sound: self.tone(Priority::High),
            expire: Expire::Never,
            actions: vec![sign_in_action()],
            alert: Some(AlertKey::of_server(server)),
            category: Category::Link,
            repeat: 0,
        };
        if let Some(id) = self.show(&notification) {
            self.sessions.insert(server.clone(), id);
        }
    }

    /// `server` was signed in again (or its sign-in renewed): a "Sign in again" notification on screen goes.
    pub fn on_session_renewed(&mut self, server: &ServerId) {
        if let Some(id) = self.sessions.remove(server) {
            self.notifier.close(id);
        }
    }
}
