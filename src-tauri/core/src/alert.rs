//! The one normalized alert type every backend's events become.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

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

impl std::str::FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Self::Low),
            "normal" => Ok(Self::Normal),
            "high" => Ok(Self::High),
            "critical" => Ok(Self::Critical),
            other => Err(format!(
                "unknown priority {other:?} (expected low, normal, high or critical)"
            )),
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

/// One alert, as printed by `alertdesk listen --json` and stored in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable: the same backend record gives the same id after reconnects.
    pub id: String,
    /// The profile that produced it.
    pub profile: String,
    /// What it is about.
    pub kind: Kind,
    /// The backend's event name.
    pub event: String,
    /// One line for the list and the notification summary.
    pub title: String,
    /// The key fields.
    pub body: String,
    /// How urgent.
    pub priority: Priority,
    /// The record is assigned to the signed-in user.
    pub assigned_to_me: bool,
    /// Whether the profile wants a notification for it.
    pub notify: bool,
    /// When Alertdesk received it (RFC 3339, UTC).
    pub received_at: String,
    /// How it reached us.
    #[serde(default)]
    pub source: Source,
    /// The original payload (and the fetched record, under `record`, when the profile enriches).
    pub data: Value,
}

/// Now as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
