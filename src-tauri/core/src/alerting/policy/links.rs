//! Link alarms: a server unreachable for `link_alarm_after_secs` while on duty raises one alarm, and one notice
//! when it is back; rejected credentials raise it at once.

use chrono::NaiveTime;
use tokio::time::Instant;

use super::notification::open_action;
use super::{Now, Policy};
use crate::alerting::notify::{Category, Expire, Notification, NotificationId, Urgency};
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
            actions: vec![open_action()],
            alert: None,
            category: Category::Link,
            repeat: 0,
        };
        let id = self.show(&notification);
        if let Some(link) = self.links.get_mut(server) {
            link.alarm_shown = id;
        }
    }
}
