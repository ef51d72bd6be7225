//! Bursts: past `coalesce_above` alerts in a second, the rest fold into one summary.

use std::collections::BTreeMap;

use tokio::time::Instant;

use super::notification::{open_action, urgency};
use super::{Policy, BURST_WINDOW};
use crate::alerting::notify::{Category, Expire, Notification};
use crate::domain::{Kind, Priority};

/// The burst under way.
#[derive(Debug)]
pub(super) struct Burst {
    pub(super) started: Instant,
    /// Alerts notified in it (shown or folded).
    pub(super) count: usize,
    /// Folded alerts per kind, and their highest priority.
    pub(super) folded: BTreeMap<&'static str, usize>,
    pub(super) folded_priority: Option<Priority>,
}

impl Policy {
    /// Shows the summary of a burst whose second is over.
    pub(super) fn flush_burst(&mut self, now: Instant) {
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
            Some(kind) if burst.folded.len() == 1 => {
                format!("{total} new {}", counted(total, kind))
            }
            _ => format!("{total} new {}", counted(total, "alert")),
        };
        let body = burst
            .folded
            .iter()
            .map(|(kind, n)| format!("{n} {}", counted(*n, kind)))
            .collect::<Vec<_>>()
            .join(", ");
        let them = if total == 1 { "it" } else { "them" };
        let notification = Notification {
            summary,
            body: format!("{body}. Open Alertdesk to see {them}."),
            urgency: urgency(priority),
            sound: self.tone(priority),
            // A summary with critical alerts in it stays until dismissed, as they would.
            expire: if priority == Priority::Critical {
                Expire::Never
            } else {
                Expire::Default
            },
            actions: vec![open_action()],
            alert: None,
            category: Category::Summary,
            repeat: 0,
        };
        self.show(&notification);
    }
}

/// `kind` as a word for `n` of them: "report", "reports", "info notices".
fn counted(n: usize, kind: &str) -> String {
    match (n, kind == Kind::Info.as_str()) {
        (1, true) => "info notice".into(),
        (_, true) => "info notices".into(),
        (1, false) => kind.to_string(),
        (_, false) => format!("{kind}s"),
    }
}
