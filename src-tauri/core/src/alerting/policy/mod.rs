//! The alerting policy: which alerts become notifications, when they repeat and escalate, how bursts are
//! folded, what quiet hours and pauses hold back, and when a lost connection raises an alarm
//! (see `docs/alerting.md`).
//!
//! [`Policy`] is a plain state machine driven by explicit calls, each given the time as a [`Now`]: the
//! [`tokio::time::Instant`] for durations (so tests run under `tokio::time::pause`) and the local time of day
//! for quiet hours and messages. It shows notifications through a [`Notifier`] and returns what the desktop
//! shell must do itself (bring the window to the front) as [`Action`]s.
//!
//! The shell feeds it what the [history](crate::history) delivers ([`Policy::on_alert`],
//! [`Policy::on_link_state`]), what the user does ([`Policy::on_acknowledged`], [`Policy::on_read`],
//! [`Policy::pause`], [`Policy::set_silence_everything`]), and calls [`Policy::tick`] when
//! [`Policy::next_deadline`] comes (repeats, burst summaries, link alarms and pause expiry are all due then).
//!
//! # Rules
//!
//! - A new alert notifies when its profile says so (`alert.notify`). An update to a known record notifies
//!   only when it matters: it became assigned to me, its priority rose, or its status (where the profile
//!   names it) closed the record (one of `terminal_statuses`: "Status: closed.") or opened it again;
//!   otherwise the list updates silently. Updates to a closed record stay quiet.
//! - Critical alerts and assignments to me ("overrides") repeat every `repeat_every_secs` until acknowledged
//!   or read, or until the record is closed; the `escalate_after`-th repeat also returns
//!   [`Action::Escalate`].
//! - In a burst (the second after the first alert of a burst), alerts beyond `coalesce_above` are folded into
//!   one summary shown when the second is over; overrides get their own notification, unless they flood
//!   (more than `flood_above` within `flood_window_secs`): then they are folded too, and while more than
//!   `flood_above` repeat, their repeats collapse into one (see `flood.rs`).
//! - During quiet hours or a pause only overrides notify. "Silence everything" holds back everything; the
//!   overrides it held back are notified when it is turned off, unless acknowledged or read meanwhile.
//! - A sign-in that cannot be renewed raises one critical "Sign in again" notification before it ends (its
//!   "Sign in again" button opens the sign-in form); signing in again closes it.
//! - When on duty, a server unreachable for `link_alarm_after_secs` (connecting or reconnecting; polling
//!   still delivers alerts and does not count) raises one alarm, and one notice when it is back. Rejected
//!   credentials raise the alarm at once. Link alarms are overrides; one held back by "silence everything" or
//!   by being off duty is raised once the silence is lifted or the user goes on duty, if the link is still down.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveTime;
use tokio::time::{Duration, Instant};

use crate::alerting::notify::{AlertKey, Notification, NotificationId, Notifier};
use crate::config::settings::AlertingSettings;
use crate::domain::{Alert, Priority, ServerId};
use crate::store::Change;
use burst::Burst;
use links::Link;
use notification::{status_line, update_reason};

/// How long a burst lasts, from its first alert.
pub const BURST_WINDOW: Duration = Duration::from_secs(1);

/// A status response a server's profile offers, as a notification action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// Its name (the action is `respond:<name>`).
    pub name: String,
    /// The button's label.
    pub label: String,
    /// The kinds of alert it is offered for (empty: all).
    pub kinds: Vec<crate::domain::Kind>,
}

/// A moment, as the policy needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// For durations (repeats, bursts, link alarms, pauses).
    pub instant: Instant,
    /// The local time of day (quiet hours, "since 14:02").
    pub local: NaiveTime,
}

impl Now {
    /// This moment.
    pub fn current() -> Self {
        Self {
            instant: Instant::now(),
            local: chrono::Local::now().time(),
        }
    }
}

/// Something the desktop shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// An alert was repeated `escalate_after` times unanswered: bring the window to the front and set the
    /// urgent-attention hint.
    Escalate {
        /// The alert.
        key: AlertKey,
    },
    /// The indicator changed by itself (a pause ran out).
    Indicator(Indicator),
}

/// What the UI shows about notifications being held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indicator {
    /// Everything notifies.
    Normal,
    /// Quiet hours: only critical alerts and assignments to me notify.
    QuietHours {
        /// When they end (local time).
        until: NaiveTime,
    },
    /// Paused from the tray: only critical alerts and assignments to me notify.
    Paused {
        /// When the pause ends by itself (`None`: until resumed).
        until: Option<Instant>,
    },
    /// "Silence everything": nothing notifies. Shown persistently.
    SilenceEverything,
}

/// What [`Policy::on_alert`] did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Shown on its own.
    Notified,
    /// Folded into the burst's summary.
    Coalesced,
    /// Worth a notification, but held back by quiet hours, a pause or "silence everything".
    Suppressed,
    /// Not worth a notification (the list updates silently).
    Silent,
}

/// An alert that repeats until answered.
#[derive(Debug)]
struct Repeating {
    notification: Notification,
    /// When it is shown next.
    due: Instant,
    /// How often it has been shown (0: held back by "silence everything", not shown yet).
    shown: u32,
    /// The notification on screen, closed before the next one.
    on_screen: Option<NotificationId>,
}

/// The alerting policy for all servers (see the [module docs](self)).
pub struct Policy {
    settings: AlertingSettings,
    notifier: Arc<dyn Notifier>,
    repeating: BTreeMap<AlertKey, Repeating>,
    burst: Option<Burst>,
    /// Paused from the tray, and until when (`None`: until resumed).
    paused: bool,
    paused_until: Option<Instant>,
    silence_everything: bool,
    links: BTreeMap<ServerId, Link>,
    flood: flood::Flood,
    /// The status responses each server's profile offers: the first two that fit an alert become its
    /// notification's actions.
    responses: BTreeMap<ServerId, Vec<Offered>>,
    /// "Sign in again" notifications on screen, by server (closed once signed in again).
    sessions: BTreeMap<ServerId, NotificationId>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("settings", &self.settings)
            .field("repeating", &self.repeating.len())
            .field("paused", &self.paused)
            .field("paused_until", &self.paused_until)
            .field("silence_everything", &self.silence_everything)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// A policy with `settings` (validated by [`crate::config::settings::Settings::parse`]) showing through `notifier`.
    pub fn new(settings: AlertingSettings, notifier: Arc<dyn Notifier>) -> Self {
        Self {
            settings,
            notifier,
            repeating: BTreeMap::new(),
            burst: None,
            paused: false,
            paused_until: None,
            silence_everything: false,
            links: BTreeMap::new(),
            flood: flood::Flood::default(),
            responses: BTreeMap::new(),
            sessions: BTreeMap::new(),
        }
    }

    /// Sets the status responses `server`'s profile offers: the first two that fit an alert's kind are offered
    /// on its notification beside Acknowledge.
    pub fn set_responses(&mut self, server: &ServerId, responses: Vec<Offered>) {
        if responses.is_empty() {
            self.responses.remove(server);
        } else {
            self.responses.insert(server.clone(), responses);
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &AlertingSettings {
        &self.settings
    }

    /// Replaces the settings (after the user changed them); refuses invalid ones, including a change that
    /// silences critical alerts without `confirm_silence_critical`.
    pub fn set_settings(&mut self, settings: AlertingSettings) -> Result<(), String> {
        settings.validate()?;
        self.settings = settings;
        Ok(())
    }

    /// Decides about an alert the history delivered: `change` is `None` for a new alert and the change for
    /// an update to a known one. `server` keys it; `label` names the server in messages.
    pub fn on_alert(
        &mut self,
        server: &ServerId,
        label: &str,
        alert: &Alert,
        change: Option<&Change>,
        now: Now,
    ) -> Outcome {
        self.flush_burst(now.instant);
        let key = AlertKey::new(server, &alert.id);
        let closed = alert
            .status
            .as_deref()
            .is_some_and(|status| self.settings.closes(status));
        let overrides = alert.fields.priority == Priority::Critical || alert.fields.assigned_to_me;
        let reason = match change {
            None if closed => alert.notify.then(|| status_line(alert)),
            None => alert.notify.then(String::new),
            Some(change) => {
                let was_closed = change
                    .previous_status
                    .as_deref()
                    .is_some_and(|status| self.settings.closes(status));
                match (was_closed, closed) {
                    // Closed now, or open again: said once.
                    (false, true) | (true, false) => Some(status_line(alert)),
                    // A closed record seen again (a catch-up, a late update) stays quiet.
                    (true, true) => None,
                    (false, false) => update_reason(alert, change),
                }
            }
        };

        // A repeating alert follows its record: the latest version, and no repeats once it no longer needs them.
        if self.repeating.contains_key(&key) {
            if closed || !overrides {
                self.on_acknowledged(&key);
            } else if reason.is_none() {
                let mut latest = self.alert_notification(server, label, alert, "");
                if let Some(entry) = self.repeating.get_mut(&key) {
                    latest.repeat = entry.notification.repeat;
                    entry.notification = latest;
                }
            }
        }
        let Some(reason) = reason else {
            return Outcome::Silent;
        };

        let mut notification = self.alert_notification(server, label, alert, &reason);
        if let Some(previous) = self.repeating.get(&key) {
            notification.repeat = previous.notification.repeat;
        }
        let repeats = overrides && !closed;
        if self.silence_everything {
            if repeats {
                self.track(key, notification, now.instant, false);
            }
            return Outcome::Suppressed;
        }
        if !overrides && self.holding_back(now) {
            return Outcome::Suppressed;
        }

        // Past the flood threshold, overrides are folded too (they still repeat, collapsed).
        let flooded = overrides && self.flooding(now.instant);
        let coalesce_above = self.settings.coalesce_above;
        let burst = self.burst.get_or_insert_with(|| Burst {
            started: now.instant,
            count: 0,
            folded: BTreeMap::new(),
            folded_priority: None,
        });
        burst.count += 1;
        if flooded || (!overrides && burst.count > coalesce_above) {
            *burst.folded.entry(alert.fields.kind.as_str()).or_default() += 1;
            burst.folded_priority = burst.folded_priority.max(Some(alert.fields.priority));
            if repeats {
                self.track_folded(key, notification, now.instant);
            }
            return Outcome::Coalesced;
        }

        if repeats {
            self.track(key, notification, now.instant, true);
        } else {
            self.show(&notification);
        }
        Outcome::Notified
    }

    /// The user acknowledged the alert: no more repeats, and its notification is closed.
    pub fn on_acknowledged(&mut self, key: &AlertKey) {
        if let Some(id) = self.repeating.remove(key).and_then(|e| e.on_screen) {
            self.notifier.close(id);
        }
    }

    /// The user read the alert: no more repeats, and its notification is closed.
    pub fn on_read(&mut self, key: &AlertKey) {
        self.on_acknowledged(key);
    }

    /// How many alerts still repeat (critical ones and assignments to me, unanswered).
    pub fn repeating_count(&self) -> usize {
        self.repeating.len()
    }

    /// The alerts that still repeat, in key order.
    pub fn repeating(&self) -> Vec<AlertKey> {
        self.repeating.keys().cloned().collect()
    }

    /// Pauses notifications until `until` (`None`: until [`Policy::resume`]); overrides still notify.
    pub fn pause(&mut self, until: Option<Instant>) {
        self.paused = true;
        self.paused_until = until;
    }

    /// Ends a pause.
    pub fn resume(&mut self) {
        self.paused = false;
        self.paused_until = None;
    }

    /// Turns "silence everything" on or off. Off again, held-back overrides are notified at the next tick.
    pub fn set_silence_everything(&mut self, on: bool) {
        self.silence_everything = on;
    }

    /// What the UI should show about held-back notifications.
    pub fn indicator(&self, now: Now) -> Indicator {
        if self.silence_everything {
            return Indicator::SilenceEverything;
        }
        match (self.paused, self.paused_until) {
            (true, until) if until.is_none_or(|t| now.instant < t) => Indicator::Paused { until },
            _ => match &self.settings.quiet_hours {
                Some(quiet) if quiet.contains(now.local) => Indicator::QuietHours {
                    until: quiet.times().map_or(now.local, |(_, to)| to),
                },
                _ => Indicator::Normal,
            },
        }
    }

    /// When [`Policy::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        // A burst with nothing folded has no summary to show: it just ends.
        let burst = self
            .burst
            .as_ref()
            .filter(|b| b.folded_priority.is_some())
            .map(|b| b.started + BURST_WINDOW);
        let pause = self.paused_until;
        let links = self.links_to_alarm().map(|(_, _, at)| at);
        let repeats = (!self.silence_everything)
            .then(|| self.repeating.values().map(|e| e.due))
            .into_iter()
            .flatten();
        [burst, pause]
            .into_iter()
            .flatten()
            .chain(links)
            .chain(repeats)
            .min()
    }

    /// Does what is due at `now`: the summary of a finished burst, link alarms, repeats (with escalation),
    /// and the end of a pause.
    pub fn tick(&mut self, now: Now) -> Vec<Action> {
        let mut actions = Vec::new();
        self.flush_burst(now.instant);

        if let Some(until) = self.paused_until {
            if now.instant >= until {
                self.resume();
                actions.push(Action::Indicator(self.indicator(now)));
            }
        }

        let due: Vec<(ServerId, NaiveTime, bool)> = self
            .links_to_alarm()
            .filter(|(_, _, at)| now.instant >= *at)
            .map(|(server, link, _)| {
                let local = link.down_since.map_or(now.local, |(_, local)| local);
                (server.clone(), local, link.auth_failed)
            })
            .collect();
        for (server, local, auth) in due {
            self.raise_link_alarm(&server, local, auth);
        }

        if !self.silence_everything && self.collapsed() {
            actions.extend(self.repeat_collectively(now.instant));
        } else if !self.silence_everything {
            self.end_collective();
            let every = self.settings.repeat_every();
            let escalate_after = self.settings.escalate_after;
            let due: Vec<AlertKey> = self
                .repeating
                .iter()
                .filter(|(_, e)| now.instant >= e.due)
                .map(|(k, _)| k.clone())
                .collect();
            for key in due {
                let Some(mut entry) = self.repeating.remove(&key) else {
                    continue;
                };
                if let Some(id) = entry.on_screen.take() {
                    self.notifier.close(id);
                }
                if entry.shown > 0 {
                    entry.notification.repeat += 1;
                }
                entry.on_screen = self.show(&entry.notification);
                entry.shown += 1;
                entry.due = now.instant + every;
                if entry.notification.repeat == escalate_after {
                    actions.push(Action::Escalate { key: key.clone() });
                }
                self.repeating.insert(key, entry);
            }
        }
        actions
    }

    fn holding_back(&self, now: Now) -> bool {
        !matches!(self.indicator(now), Indicator::Normal)
    }

    /// Shows an override now (or holds it for later under "silence everything") and schedules its repeats.
    fn track(&mut self, key: AlertKey, notification: Notification, now: Instant, show: bool) {
        let previous = self.repeating.remove(&key);
        if let Some(id) = previous.as_ref().and_then(|e| e.on_screen) {
            self.notifier.close(id);
        }
        let mut entry = Repeating {
            notification,
            due: now,
            shown: previous.as_ref().map_or(0, |e| e.shown),
            on_screen: None,
        };
        if show {
            entry.on_screen = self.show(&entry.notification);
            entry.shown += 1;
            entry.due = now + self.settings.repeat_every();
        }
        self.repeating.insert(key, entry);
    }
}

mod burst;
mod flood;
mod links;
mod notification;
#[cfg(test)]
mod tests;
