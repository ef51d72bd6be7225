//! Floods of urgent alerts. Critical alerts and assignments to me ("overrides") normally get a notification of
//! their own and repeat until answered; a thousand of them must not become a thousand notifications and a
//! thousand repeats. Past `flood_above` overrides within `flood_window_secs`, the rest are folded into the
//! burst's summary like other alerts (each still stored, listed, counted and repeating), and while more than
//! `flood_above` repeat, their repeats collapse into one notification, "N critical alerts not acknowledged".

use std::collections::VecDeque;

use tokio::time::Instant;

use super::notification::open_action;
use super::{Action, Policy, Repeating};
use crate::alerting::notify::{AlertKey, Category, Expire, Notification, NotificationId, Urgency};
use crate::domain::Priority;

/// What the policy remembers of a flood: the last overrides' arrival times (at most `flood_above + 1`) and the
/// collective repeat on screen.
#[derive(Debug, Default)]
pub(super) struct Flood {
    arrivals: VecDeque<Instant>,
    /// The "N ... not acknowledged" notification on screen, replaced at each collective repeat.
    collective: Option<NotificationId>,
    /// How often the collective repeat was shown (for its repeat count).
    repeats: u32,
}

impl Policy {
    /// Notes an override arriving at `now`; true when it is past the flood threshold (to be folded).
    pub(super) fn flooding(&mut self, now: Instant) -> bool {
        let limit = self.settings.flood_above;
        let window = self.settings.flood_window();
        let arrivals = &mut self.flood.arrivals;
        arrivals.push_back(now);
        while arrivals.len() > limit + 1 {
            arrivals.pop_front();
        }
        arrivals.len() > limit
            && arrivals
                .front()
                .is_some_and(|first| now.duration_since(*first) <= window)
    }

    /// An override folded into a summary: it repeats like the others, from the next repeat on.
    pub(super) fn track_folded(&mut self, key: AlertKey, notification: Notification, now: Instant) {
        let previous = self.repeating.remove(&key);
        if let Some(id) = previous.as_ref().and_then(|e| e.on_screen) {
            self.notifier.close(id);
        }
        let entry = Repeating {
            notification,
            due: now + self.settings.repeat_every(),
            shown: previous.map_or(1, |e| e.shown.max(1)),
            on_screen: None,
        };
        self.repeating.insert(key, entry);
    }

    /// Whether repeats are collapsed now (more alerts repeat than `flood_above`).
    pub(super) fn collapsed(&self) -> bool {
        self.repeating.len() > self.settings.flood_above
    }

    /// The collapsed repeat, when one is due: the individual notifications come off the screen, one
    /// collective notification takes their place, and every repeating alert is due again together.
    pub(super) fn repeat_collectively(&mut self, now: Instant) -> Vec<Action> {
        if !self.repeating.values().any(|e| now >= e.due) {
            return Vec::new();
        }
        let every = self.settings.repeat_every();
        let escalate_after = self.settings.escalate_after;
        let mut escalate = None;
        for (key, entry) in &mut self.repeating {
            if let Some(id) = entry.on_screen.take() {
                self.notifier.close(id);
            }
            if entry.shown > 0 {
                entry.notification.repeat += 1;
            }
            entry.shown += 1;
            entry.due = now + every;
            if entry.notification.repeat == escalate_after && escalate.is_none() {
                escalate = Some(key.clone());
            }
        }
        if let Some(id) = self.flood.collective.take() {
            self.notifier.close(id);
        }
        let notification = self.collective_notification();
        self.flood.collective = self.show(&notification);
        self.flood.repeats += 1;
        escalate
            .map(|key| Action::Escalate { key })
            .into_iter()
            .collect()
    }

    /// Takes the collective repeat off the screen once repeats are individual again.
    pub(super) fn end_collective(&mut self) {
        if let Some(id) = self.flood.collective.take() {
            self.notifier.close(id);
        }
        self.flood.repeats = 0;
    }

    fn collective_notification(&self) -> Notification {
        let n = self.repeating.len();
        let critical = self
            .repeating
            .values()
            .filter(|e| e.notification.urgency == Urgency::Critical)
            .count();
        let summary = if critical == n {
            format!("{n} critical alerts not acknowledged")
        } else {
            format!("{n} critical alerts and assignments to you not acknowledged")
        };
        let titles: Vec<&str> = self
            .repeating
            .values()
            .take(3)
            .map(|e| e.notification.summary.as_str())
            .collect();
        let more = n.saturating_sub(titles.len());
        let mut body = titles.join("\n");
        if more > 0 {
            body = format!("{body}\n… and {more} more.");
        }
        body.push_str("\nOpen Alertdesk to answer them.");
        let priority = if critical > 0 {
            Priority::Critical
        } else {
            Priority::High
        };
        Notification {
            summary,
            body,
            urgency: if critical > 0 {
                Urgency::Critical
            } else {
                Urgency::Normal
            },
            sound: self.tone(priority),
            expire: Expire::Never,
            actions: vec![open_action()],
            alert: None,
            category: Category::Summary,
            repeat: self.flood.repeats,
        }
    }
}
