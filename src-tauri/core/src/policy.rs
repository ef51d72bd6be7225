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
//!   only when it matters: it became assigned to me, its priority rose, or its `status` moved to one of
//!   `terminal_statuses`; otherwise the list updates silently.
//! - Critical alerts and assignments to me ("overrides") repeat every `repeat_every_secs` until acknowledged
//!   or read (or the record reaches a terminal status); the `escalate_after`-th repeat also returns
//!   [`Action::Escalate`].
//! - In a burst (the second after the first alert of a burst), alerts beyond `coalesce_above` are folded into
//!   one summary shown when the second is over; overrides always get their own notification.
//! - During quiet hours or a pause only overrides notify. "Silence everything" holds back everything; the
//!   overrides it held back are notified when it is turned off, unless acknowledged or read meanwhile.
//! - When on duty, a server unreachable for `link_alarm_after_secs` (connecting or reconnecting; polling
//!   still delivers alerts and does not count) raises one alarm, and one notice when it is back. Rejected
//!   credentials raise the alarm at once. Link alarms are overrides; one held back by "silence everything" or
//!   by being off duty is raised once the silence is lifted or the user goes on duty, if the link is still down.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveTime;
use serde_json::Value;
use tokio::time::{Duration, Instant};

use crate::alert::{Alert, Kind, Priority};
use crate::notify::{
    AlertKey, Category, Expire, Notification, NotificationId, Notifier, Tone, Urgency,
    ACTION_ACKNOWLEDGE, ACTION_OPEN,
};
use crate::settings::{AlertingSettings, NO_TONE};
use crate::store::Change;
use crate::supervisor::LinkState;

/// How long a burst lasts, from its first alert.
pub const BURST_WINDOW: Duration = Duration::from_secs(1);

/// Remembered statuses beyond this many are forgotten (a shift never gets near it).
const MAX_REMEMBERED_STATUSES: usize = 100_000;

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

/// The burst under way.
#[derive(Debug)]
struct Burst {
    started: Instant,
    /// Alerts notified in it (shown or folded).
    count: usize,
    /// Folded alerts per kind, and their highest priority.
    folded: BTreeMap<&'static str, usize>,
    folded_priority: Option<Priority>,
}

/// One server's link, as far as alarms go.
#[derive(Debug, Default)]
struct Link {
    /// When it became unreachable (monotonic, and local for the message).
    down_since: Option<(Instant, NaiveTime)>,
    /// The server refused the credentials: alarm at once.
    auth_failed: bool,
    /// The alarm for this outage was shown: never twice.
    alarmed: bool,
    /// The alarm on screen, when it was shown.
    alarm_shown: Option<NotificationId>,
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
    links: BTreeMap<String, Link>,
    statuses: HashMap<AlertKey, String>,
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
    /// A policy with `settings` (validated by [`crate::settings::Settings::parse`]) showing through `notifier`.
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
            statuses: HashMap::new(),
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
    /// an update to a known one. `server` names the server in [`AlertKey`]s and messages.
    pub fn on_alert(
        &mut self,
        server: &str,
        alert: &Alert,
        change: Option<&Change>,
        now: Now,
    ) -> Outcome {
        self.flush_burst(now.instant);
        let key = AlertKey::new(server, &alert.id);
        let reached_terminal = self.note_status(&key, alert, change);
        let overrides = alert.priority == Priority::Critical || alert.assigned_to_me;
        let reason = match change {
            None => alert.notify.then(String::new),
            Some(change) => update_reason(alert, change, reached_terminal.as_deref()),
        };

        // A repeating alert follows its record: the latest version, and no repeats once it no longer needs them.
        if self.repeating.contains_key(&key) {
            if reached_terminal.is_some() || !overrides {
                self.on_acknowledged(&key);
            } else if reason.is_none() {
                let mut latest = self.alert_notification(server, alert, "");
                if let Some(entry) = self.repeating.get_mut(&key) {
                    latest.repeat = entry.notification.repeat;
                    entry.notification = latest;
                }
            }
        }
        let Some(reason) = reason else {
            return Outcome::Silent;
        };

        let mut notification = self.alert_notification(server, alert, &reason);
        if let Some(previous) = self.repeating.get(&key) {
            notification.repeat = previous.notification.repeat;
        }
        let repeats = overrides && reached_terminal.is_none();
        if self.silence_everything {
            if repeats {
                self.track(key, notification, now.instant, false);
            }
            return Outcome::Suppressed;
        }
        if !overrides && self.holding_back(now) {
            return Outcome::Suppressed;
        }

        let burst = self.burst.get_or_insert_with(|| Burst {
            started: now.instant,
            count: 0,
            folded: BTreeMap::new(),
            folded_priority: None,
        });
        burst.count += 1;
        if !overrides && burst.count > self.settings.coalesce_above {
            *burst.folded.entry(alert.kind.as_str()).or_default() += 1;
            burst.folded_priority = burst.folded_priority.max(Some(alert.priority));
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

    /// A server's link changed state. `server` is the name used in messages ("Station 4").
    pub fn on_link_state(&mut self, server: &str, state: &LinkState, now: Now) {
        let link = self.links.entry(server.to_string()).or_default();
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
                *link = Link::default();
                if let Some(id) = shown {
                    self.notifier.close(id);
                    let notification = Notification {
                        summary: format!("Connection to {server} is back"),
                        body: format!("Alerts from {server} are arriving again."),
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

        let due: Vec<(String, NaiveTime, bool)> = self
            .links_to_alarm()
            .filter(|(_, _, at)| now.instant >= *at)
            .map(|(name, link, _)| {
                let local = link.down_since.map_or(now.local, |(_, local)| local);
                (name.to_string(), local, link.auth_failed)
            })
            .collect();
        for (name, local, auth) in due {
            self.raise_link_alarm(&name, local, auth);
        }

        if !self.silence_everything {
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

    /// Links down and not alarmed yet, with when their alarm is due (none while off duty or silenced).
    fn links_to_alarm(&self) -> impl Iterator<Item = (&str, &Link, Instant)> {
        let active = self.settings.on_duty && !self.silence_everything;
        let after = self.settings.link_alarm_after();
        self.links
            .iter()
            .filter(move |(_, link)| active && !link.alarmed)
            .filter_map(move |(name, link)| {
                let (since, _) = link.down_since?;
                let at = if link.auth_failed {
                    since
                } else {
                    since + after
                };
                Some((name.as_str(), link, at))
            })
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

    /// Remembers the record's status; returns it when this update moved it to a terminal status.
    fn note_status(
        &mut self,
        key: &AlertKey,
        alert: &Alert,
        change: Option<&Change>,
    ) -> Option<String> {
        let status = status_of(&alert.data)?;
        if self.statuses.len() >= MAX_REMEMBERED_STATUSES {
            self.statuses.clear();
        }
        let previous = self.statuses.insert(key.clone(), status.to_lowercase());
        let change = change?;
        let terminal = self
            .settings
            .terminal_statuses
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&status));
        let moved = match previous {
            Some(previous) => !previous.eq_ignore_ascii_case(&status),
            // Not seen this session: the update changed the payload, so assume the status is what changed.
            None => change.data_changed,
        };
        (terminal && moved).then_some(status)
    }

    fn raise_link_alarm(&mut self, server: &str, since: NaiveTime, auth: bool) {
        let Some(link) = self.links.get_mut(server) else {
            return;
        };
        // Off duty or silenced, the alarm waits: going on duty or lifting the silence raises it at the next tick.
        if !self.settings.on_duty || self.silence_everything {
            return;
        }
        link.alarmed = true;
        let (summary, body) = if auth {
            (
                format!("Signed out of {server} — sign in again"),
                format!("{server} refused the sign-in; no alerts arrive from it until you sign in again."),
            )
        } else {
            (
                format!(
                    "No connection to {server} since {} — alerts may be missed",
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

    /// Shows the summary of a burst whose second is over.
    fn flush_burst(&mut self, now: Instant) {
        if self
            .burst
            .as_ref()
            .is_none_or(|b| now < b.started + BURST_WINDOW)
        {
            return;
        }
        let Some(burst) = self.burst.take() else {
            return;
        };
        let Some(priority) = burst.folded_priority else {
            return;
        };
        let total: usize = burst.folded.values().sum();
        let summary = match burst.folded.keys().next() {
            Some(kind) if burst.folded.len() == 1 => format!("{total} new {}", plural(kind)),
            _ => format!("{total} new alerts"),
        };
        let body = burst
            .folded
            .iter()
            .map(|(kind, n)| {
                let word = if *n == 1 {
                    kind.to_string()
                } else {
                    plural(kind)
                };
                format!("{n} {word}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let notification = Notification {
            summary,
            body: format!("{body}. Open Alertdesk to see them."),
            urgency: urgency(priority),
            sound: self.tone(priority),
            expire: Expire::Default,
            actions: vec![open_action()],
            alert: None,
            category: Category::Summary,
            repeat: 0,
        };
        self.show(&notification);
    }

    fn alert_notification(&self, server: &str, alert: &Alert, reason: &str) -> Notification {
        let mut body = String::new();
        if !reason.is_empty() {
            body.push_str(reason);
            body.push('\n');
        }
        body.push_str(&alert.body);
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(server);
        Notification {
            summary: format!("{}: {}", kind_label(alert.kind), alert.title),
            body,
            urgency: urgency(alert.priority),
            sound: self.tone(alert.priority),
            expire: if alert.priority == Priority::Critical {
                Expire::Never
            } else {
                Expire::Default
            },
            actions: vec![
                (ACTION_ACKNOWLEDGE.to_string(), "Acknowledge".to_string()),
                open_action(),
            ],
            alert: Some(AlertKey::new(server, &alert.id)),
            category: Category::Alert,
            repeat: 0,
        }
    }

    fn tone(&self, priority: Priority) -> Option<Tone> {
        let name = self.settings.tones.for_priority(priority);
        (name != NO_TONE && self.settings.volume > 0).then(|| Tone::new(name, self.settings.volume))
    }

    fn show(&self, notification: &Notification) -> Option<NotificationId> {
        match self.notifier.show(notification) {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(summary = %notification.summary, "{e}");
                None
            }
        }
    }
}

/// Why an update deserves a notification, or `None` when it does not.
fn update_reason(alert: &Alert, change: &Change, terminal: Option<&str>) -> Option<String> {
    if change.became_assigned_to_me {
        Some("Assigned to you.".into())
    } else if change.priority_raised() {
        Some(format!("Priority raised to {}.", alert.priority.as_str()))
    } else {
        terminal.map(|status| format!("Status: {status}."))
    }
}

/// The record's status: `status` in the payload, or in its fetched `record`.
fn status_of(data: &Value) -> Option<String> {
    [&data["status"], &data["record"]["status"]]
        .into_iter()
        .find_map(|v| v.as_str())
        .map(str::to_string)
}

fn urgency(priority: Priority) -> Urgency {
    match priority {
        Priority::Low => Urgency::Low,
        Priority::Normal | Priority::High => Urgency::Normal,
        Priority::Critical => Urgency::Critical,
    }
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Report => "Report",
        Kind::Assignment => "Assignment",
        Kind::Update => "Update",
        Kind::Alert => "Alert",
        Kind::Info => "Info",
    }
}

fn plural(kind: &str) -> String {
    if kind == Kind::Info.as_str() {
        "info notices".into()
    } else {
        format!("{kind}s")
    }
}

fn open_action() -> (String, String) {
    (ACTION_OPEN.to_string(), "Open".to_string())
}

#[cfg(test)]
mod tests;
