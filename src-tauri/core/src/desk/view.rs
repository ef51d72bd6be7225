//! What the desktop UI receives and sends: the one typed contract between the Rust side and the web UI.
//!
//! Every type here derives [`TS`]; `ui/src/generated/types.ts` holds their TypeScript declarations and a test
//! fails when the two drift apart (regenerate with `UPDATE_BINDINGS=1 cargo test -p alertdesk-core bindings`).
//! Times are RFC 3339 strings (UTC); counts are plain numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::alert::{Kind, Priority, Source};
use crate::store::{AlertUpdate, Gap, StoredAlert};
use crate::supervisor::LinkState;

/// One alert as a row of the list (its latest version and its read state).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AlertRow {
    /// The server it came from (with `id`, its key).
    pub server: String,
    /// Its id on that server.
    pub id: String,
    /// The profile that produced it.
    pub profile: String,
    /// What it is about.
    pub kind: Kind,
    /// One line.
    pub title: String,
    /// The key fields.
    pub body: String,
    /// How urgent.
    pub priority: Priority,
    /// Assigned to the signed-in user.
    pub assigned_to_me: bool,
    /// When its first version arrived.
    pub first_received_at: String,
    /// When its latest version arrived.
    pub received_at: String,
    /// The backend's own time for the record, when the payload has one.
    pub server_time: Option<String>,
    /// When it was read; `null` while unread.
    pub read_at: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<String>,
    /// How many updates merged into it.
    #[ts(type = "number")]
    pub update_count: u64,
}

impl From<StoredAlert> for AlertRow {
    fn from(stored: StoredAlert) -> Self {
        let StoredAlert {
            server,
            alert,
            first_received_at,
            server_time,
            read_at,
            acknowledged_at,
            update_count,
        } = stored;
        Self {
            server,
            id: alert.id,
            profile: alert.profile,
            kind: alert.kind,
            title: alert.title,
            body: alert.body,
            priority: alert.priority,
            assigned_to_me: alert.assigned_to_me,
            first_received_at,
            received_at: alert.received_at,
            server_time,
            read_at,
            acknowledged_at,
            update_count,
        }
    }
}

/// One signed-in server and its link.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServerView {
    /// Stable id (`profile@server`, as in the keyring).
    pub id: String,
    /// What the user calls it.
    pub label: String,
    /// The profile's name.
    pub profile: String,
    /// The server's URL (the `server` of its alerts).
    pub server: String,
    /// The built-in demo backend.
    pub demo: bool,
    /// Started with `--profile/--server` for this run only (not in the saved list).
    pub scripted: bool,
    /// The link's state.
    pub link: LinkState,
    /// When the link entered this state.
    pub since: String,
    /// When it was last live, while it is not (`null` while live or before the first connection).
    pub down_since: Option<String>,
    /// Delivery latency of the latest alert (received time minus the backend's time), when the backend stamps
    /// its records.
    #[ts(type = "number | null")]
    pub latency_ms: Option<u64>,
    /// Unread alerts from it.
    #[ts(type = "number")]
    pub unread: u64,
}

/// A time a link was down and the backend could not tell what was missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GapView {
    /// The server.
    pub server: String,
    /// When the link went down.
    pub from: String,
    /// When it was back (`null` while still down).
    pub to: Option<String>,
    /// For the user.
    pub note: String,
}

impl From<Gap> for GapView {
    fn from(gap: Gap) -> Self {
        Self {
            server: gap.server,
            from: gap.from,
            to: gap.to,
            note: gap.note,
        }
    }
}

/// Whether notifications are held back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum NotificationsView {
    /// Everything notifies.
    Normal,
    /// Quiet hours until `until` (local `HH:MM`): critical alerts and assignments to me still notify.
    QuietHours {
        /// Local time of day.
        until: String,
    },
    /// Paused from the tray or the window; critical alerts and assignments to me still notify.
    Paused {
        /// When the pause ends (`null`: until resumed).
        until: Option<String>,
    },
    /// "Silence everything": nothing notifies.
    Silenced,
}

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum NoticeLevel {
    /// For information.
    Info,
    /// Something does not work; alerts are still kept.
    Warning,
    /// Alerts may be missed.
    Error,
}

/// What the UI draws: the whole of it in a [`DeskEvent::Snapshot`] (when it subscribes, and after changes that
/// touch many rows), or what changed in a [`DeskEvent::Batch`] (at most every 50 ms).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// Every signed-in server, with its current state.
    pub servers: Vec<ServerView>,
    /// Snapshot: the newest alerts, newest first (at most [`super::LIST_LIMIT`]). Batch: new and changed rows,
    /// which replace rows with the same server and id.
    pub alerts: Vec<AlertRow>,
    /// Snapshot: link gaps, newest first. Batch: new gaps.
    pub gaps: Vec<GapView>,
    /// Unread alerts in all.
    #[ts(type = "number")]
    pub unread: u64,
    /// Notification state.
    pub notifications: NotificationsView,
    /// Why notifications cannot be shown, while they cannot.
    pub notify_failure: Option<String>,
}

/// Rust -> UI: the one event stream (a Tauri channel).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DeskEvent {
    /// Replace everything.
    Snapshot(View),
    /// Apply changes.
    Batch(View),
    /// Show this alert (a notification's "Open", or an escalation).
    Focus {
        /// Its server.
        server: String,
        /// Its id.
        id: String,
        /// Repeated notifications went unanswered: bring the window to the front and ask for attention.
        escalate: bool,
    },
    /// Something the user should know (a failed write-back, a broken servers file).
    Notice {
        /// How serious.
        level: NoticeLevel,
        /// What happened and what to do.
        message: String,
    },
}

/// One earlier version of an alert, for the detail pane's trail.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TrailEntry {
    /// When this version arrived.
    pub received_at: String,
    /// When the next version replaced it.
    pub replaced_at: String,
    /// How it arrived.
    pub source: Source,
    /// Its kind.
    pub kind: Kind,
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
    /// Its priority.
    pub priority: Priority,
    /// Assigned to me then.
    pub assigned_to_me: bool,
}

impl From<AlertUpdate> for TrailEntry {
    fn from(u: AlertUpdate) -> Self {
        Self {
            received_at: u.received_at,
            replaced_at: u.replaced_at,
            source: u.source,
            kind: u.kind,
            title: u.title,
            body: u.body,
            priority: u.priority,
            assigned_to_me: u.assigned_to_me,
        }
    }
}

/// The detail pane of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AlertDetail {
    /// The row.
    pub alert: AlertRow,
    /// The backend's event name.
    pub event: String,
    /// How the latest version arrived.
    pub source: Source,
    /// When a notification for it was shown in this run (`null`: none, or before this run).
    pub shown_at: Option<String>,
    /// Earlier versions, oldest first.
    pub trail: Vec<TrailEntry>,
    /// The payload, pretty-printed JSON (shown as text).
    pub payload: String,
    /// Whether acknowledging also tells the server.
    pub writes_back: bool,
}

/// A profile the sign-in form offers.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInfo {
    /// The name to sign in with (a built-in name, or the imported file's path).
    pub name: String,
    /// One line.
    pub description: String,
    /// Built in, or imported.
    pub builtin: bool,
    /// The server to suggest.
    pub default_server: Option<String>,
    /// Variables the form asks for.
    pub variables: Vec<VariableInfo>,
    /// Signs in with a username and password (otherwise it connects without credentials).
    pub login: bool,
}

/// A profile variable, as the sign-in form asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VariableInfo {
    /// Its name.
    pub name: String,
    /// What to put there.
    pub description: String,
    /// The value used when left empty.
    pub default: Option<String>,
    /// Must be filled in.
    pub required: bool,
}

/// UI -> Rust: the sign-in form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignInForm {
    /// A built-in profile's name or an imported profile's path ([`ProfileInfo::name`]).
    pub profile: String,
    /// The server URL.
    pub server: String,
    /// What to call it (default: the profile and host).
    #[serde(default)]
    pub label: Option<String>,
    /// Profile variables.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Username (for profiles that sign in).
    #[serde(default)]
    pub username: String,
    /// Password; used once for the login request and never stored.
    #[serde(default)]
    pub password: String,
}

/// UI -> Rust: hold notifications back, or stop holding them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum NotificationsRequest {
    /// Pause for this many minutes (`null`: until resumed).
    Pause {
        /// Minutes.
        minutes: Option<u32>,
    },
    /// End a pause.
    Resume,
    /// Turn "silence everything" on or off.
    Silence {
        /// On.
        on: bool,
    },
}

/// A generated TypeScript file: a header naming `source` and the command that regenerates it, then each
/// declaration exported.
pub fn declarations(source: &str, regenerate: &str, decls: &[String]) -> String {
    let mut out = format!(
        "// Generated from {source} by ts-rs; do not edit.\n// Regenerate: {regenerate}\n\n"
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(decl);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// For the drift tests: fails unless `path` holds `want`; with `UPDATE_BINDINGS` set, writes it first.
pub fn check_generated(path: &std::path::Path, want: &str, regenerate: &str) {
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the generated folder");
        }
        std::fs::write(path, want).expect("write the generated file");
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date with the Rust types; regenerate it with {regenerate}",
        path.display()
    );
}

const REGENERATE: &str = "UPDATE_BINDINGS=1 cargo test -p alertdesk-core bindings";

/// The TypeScript declarations of every type above, as committed in `ui/src/generated/types.ts`.
pub fn typescript() -> String {
    declarations(
        "src-tauri/core/src/desk/view.rs",
        REGENERATE,
        &[
            Kind::decl(),
            Priority::decl(),
            Source::decl(),
            LinkState::decl(),
            AlertRow::decl(),
            ServerView::decl(),
            GapView::decl(),
            NotificationsView::decl(),
            NoticeLevel::decl(),
            View::decl(),
            DeskEvent::decl(),
            TrailEntry::decl(),
            AlertDetail::decl(),
            ProfileInfo::decl(),
            VariableInfo::decl(),
            SignInForm::decl(),
            NotificationsRequest::decl(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The UI's types are generated from these; this fails when someone changes one side only.
    #[test]
    fn bindings_match_the_ui() {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated/types.ts");
        check_generated(&path, &typescript(), REGENERATE);
    }

    #[test]
    fn events_serialize_as_the_ui_expects() {
        let event = DeskEvent::Focus {
            server: "http://a".into(),
            id: "r-1".into(),
            escalate: true,
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"type": "focus", "server": "http://a", "id": "r-1", "escalate": true})
        );
        let paused: NotificationsRequest =
            serde_json::from_value(serde_json::json!({"mode": "pause", "minutes": 15})).unwrap();
        assert_eq!(paused, NotificationsRequest::Pause { minutes: Some(15) });
        let link = serde_json::to_value(LinkState::Reconnecting {
            retry_in_ms: 1500,
            reason: "x".into(),
        })
        .unwrap();
        assert_eq!(link["status"], "reconnecting");
    }
}
