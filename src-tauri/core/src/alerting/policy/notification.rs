//! What an alert's notification says and sounds like.

use super::Policy;
use crate::alerting::notify::{
    AlertKey, Category, Expire, Notification, NotificationId, Tone, Urgency, ACTION_ACKNOWLEDGE,
    ACTION_OPEN, ACTION_RESPOND,
};
use crate::config::settings::NO_TONE;
use crate::domain::{Alert, Kind, Priority, ServerId};
use crate::store::Change;

impl Policy {
    pub(super) fn alert_notification(
        &self,
        server: &ServerId,
        label: &str,
        alert: &Alert,
        reason: &str,
    ) -> Notification {
        let mut body = String::new();
        if !reason.is_empty() {
            body.push_str(reason);
            body.push('\n');
        }
        body.push_str(&alert.fields.body);
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(label);
        let fields = &alert.fields;
        Notification {
            summary: format!("{}: {}", kind_label(fields.kind), fields.title),
            body,
            urgency: urgency(fields.priority),
            sound: self.tone(fields.priority),
            expire: if fields.priority == Priority::Critical {
                Expire::Never
            } else {
                Expire::Default
            },
            actions: self.actions(server, fields.kind),
            alert: Some(AlertKey::new(server, &alert.id)),
            category: Category::Alert(fields.priority),
            repeat: 0,
        }
    }

    /// Acknowledge, the first two status responses of the server's profile that fit the kind, and Open.
    fn actions(&self, server: &ServerId, kind: Kind) -> Vec<(String, String)> {
        let responses = self
            .responses
            .get(server)
            .into_iter()
            .flatten()
            .filter(|r| r.kinds.is_empty() || r.kinds.contains(&kind))
            .take(2)
            .map(|r| (format!("{ACTION_RESPOND}{}", r.name), r.label.clone()));
        std::iter::once((ACTION_ACKNOWLEDGE.to_string(), "Acknowledge".to_string()))
            .chain(responses)
            .chain(std::iter::once(open_action()))
            .collect()
    }

    pub(super) fn tone(&self, priority: Priority) -> Option<Tone> {
        let name = self.settings.tones.for_priority(priority);
        (name != NO_TONE && self.settings.volume > 0).then(|| Tone::new(name, self.settings.volume))
    }

    pub(super) fn show(&self, notification: &Notification) -> Option<NotificationId> {
        match self.notifier.show(notification) {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(summary = %notification.summary, "{e}");
                None
            }
        }
    }
}

/// Why an update to an open record deserves a notification, or `None` when it does not.
pub(super) fn update_reason(alert: &Alert, change: &Change) -> Option<String> {
    if change.became_assigned_to_me {
        Some("Assigned to you.".into())
    } else if change.priority_raised() {
        Some(format!(
            "Priority raised to {}.",
            alert.fields.priority.as_str()
        ))
    } else {
        None
    }
}

/// "Status: closed." (the record's status as the server spells it).
pub(super) fn status_line(alert: &Alert) -> String {
    format!("Status: {}.", alert.status.as_deref().unwrap_or("unknown"))
}

pub(super) fn urgency(priority: Priority) -> Urgency {
    match priority {
        Priority::Low => Urgency::Low,
        Priority::Normal | Priority::High => Urgency::Normal,
        Priority::Critical => Urgency::Critical,
    }
}

pub(super) fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Report => "Report",
        Kind::Assignment => "Assignment",
        Kind::Update => "Update",
        Kind::Alert => "Alert",
        Kind::Info => "Info",
    }
}

pub(super) fn open_action() -> (String, String) {
    (ACTION_OPEN.to_string(), "Open".to_string())
}

pub(super) fn sign_in_action() -> (String, String) {
    (
        crate::alerting::notify::ACTION_SIGN_IN.to_string(),
        "Sign in again".to_string(),
    )
}
