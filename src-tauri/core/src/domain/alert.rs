//! The one normalized alert every backend's events become, and the fields every version of it shares.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::time::Timestamp;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A new report or incident.
    Report,
    /// Something assigned (to me or to a unit).
    Assignment,
    /// A change to an earlier record.
    Update,
    /// An alarm raised by the system (thresholds, deletions).
    Alert,
    /// Background information (insights, unit status).
    Info,
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    Normal,
    /// Look soon.
    High,
    /// Look now.
    Critical,
}

impl Kind {
    /// Whether alerts of this kind raise a notification unless a rule says otherwise.
    pub fn notifies_by_default(self) -> bool {
        matches!(self, Self::Report | Self::Assignment | Self::Alert)
    }

    /// The lowercase name used in profiles and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::Assignment => "assignment",
            Self::Update => "update",
            Self::Alert => "alert",
            Self::Info => "info",
        }
    }
}

impl Priority {
    /// The lowercase name used in profiles and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// A priority name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority {0:?} (expected low, normal, high or critical)")]
pub struct UnknownPriority(pub String);

impl std::str::FromStr for Priority {
    type Err = UnknownPriority;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Self::Low),
            "normal" => Ok(Self::Normal),
            "high" => Ok(Self::High),
            "critical" => Ok(Self::Critical),
            other => Err(UnknownPriority(other.to_string())),
        }
    }
}

/// How an alert reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, TS)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Pushed over the live connection.
    #[default]
    Live,
    /// Fetched after a reconnect to fill what was missed.
    Backfill,
    /// Fetched by polling while the live connection was down.
    Poll,
}

impl Source {
    /// The lowercase name used in output and the history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Backfill => "backfill",
            Self::Poll => "poll",
        }
    }
}

/// What one version of an alert says, shared by the alert, its stored trail, and the rows and trail the UI
/// draws: declared once here, flattened into each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AlertFields {
    /// What it is about.
    pub kind: Kind,
    /// One line for the list and the notification summary.
    pub title: String,
    /// The key fields.
    pub body: String,
    /// How urgent.
    pub priority: Priority,
    /// The record is assigned to the signed-in user.
    pub assigned_to_me: bool,
}

/// Which of an alert's fields its event stated. The others are the record's earlier version's: an update that
/// names neither owner nor priority keeps them (see the store's merge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // independent yes/no facts about one event
pub struct Stated {
    /// The title came from the event's own text.
    pub title: bool,
    /// So did the body.
    pub body: bool,
    /// The event carries a priority.
    pub priority: bool,
    /// The event says whom the record is assigned to (maybe nobody).
    pub assigned_to_me: bool,
}

impl Stated {
    /// Everything stated: a whole record (and alerts read back from the history).
    pub const ALL: Self = Self {
        title: true,
        body: true,
        priority: true,
        assigned_to_me: true,
    };
}

impl Default for Stated {
    fn default() -> Self {
        Self::ALL
    }
}

/// One alert, as printed by `alertdesk listen --json` and stored in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable: the same backend record gives the same id after reconnects.
    pub id: String,
    /// The profile that produced it.
    pub profile: String,
    /// The backend's event name.
    pub event: String,
    /// Kind, title, body, priority, assigned to me.
    #[serde(flatten)]
    pub fields: AlertFields,
    /// Whether the profile wants a notification for it.
    pub notify: bool,
    /// When Alertdesk received it.
    pub received_at: Timestamp,
    /// How it reached us.
    #[serde(default)]
    pub source: Source,
    /// The record's status (`open`, `assigned`, `completed`...), where the profile says it is.
    #[serde(default)]
    pub status: Option<String>,
    /// The backend's own time for this version, where the profile says it is.
    #[serde(default)]
    pub server_time: Option<Timestamp>,
    /// The original payload (and the fetched record, under `record`, when the profile enriches).
    pub data: Value,
    /// Which fields this version's event stated (the rest are kept from the record's earlier version).
    #[serde(skip)]
    pub stated: Stated,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_prints_flat_as_listen_json_promises() {
        let alert = Alert {
            id: "r-1".into(),
            profile: "demo".into(),
            event: "new_report".into(),
            fields: AlertFields {
                kind: Kind::Report,
                title: "Fire".into(),
                body: "Station 4".into(),
                priority: Priority::High,
                assigned_to_me: true,
            },
            notify: true,
            received_at: Timestamp::parse("2024-05-01T08:00:00Z").unwrap(),
            source: Source::Live,
            status: Some("open".into()),
            server_time: None,
            data: serde_json::json!({"id": 1}),
            stated: Stated::ALL,
        };
        let value = serde_json::to_value(&alert).unwrap();
        let mut keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "assigned_to_me",
                "body",
                "data",
                "event",
                "id",
                "kind",
                "notify",
                "priority",
                "profile",
                "received_at",
                "server_time",
                "source",
                "status",
                "title"
            ]
        );
        assert_eq!(value["received_at"], "2024-05-01T08:00:00.000Z");
        assert_eq!(value["kind"], "report");
        let back: Alert = serde_json::from_value(value).unwrap();
        assert_eq!(back, alert);
    }
}
