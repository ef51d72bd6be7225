//! What the desktop UI receives and sends: the one typed contract between the Rust side and the web UI.
//!
//! Every type here derives [`TS`]; `ui/src/generated/types.ts` holds their TypeScript declarations and a test
//! fails when the two drift apart (regenerate with `UPDATE_BINDINGS=1 cargo test -p alertdesk-core bindings`).
//! Field names are snake_case, as in `listen --json` and `history --json`: one alert shape everywhere. Times
//! are RFC 3339 strings (UTC); counts are plain numbers. Core text in notices and errors states facts; the UI
//! words them for the window (see `ui/src/words.ts`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::{EngineErrorKind, ErrorView};
use crate::domain::{Alert, AlertFields, Kind, Priority, ServerId, Source, Timestamp};
use crate::link::LinkState;
use crate::store::{Life, Moment, StoredAlert, TrailEntry};

/// One alert as a row of the list (its latest version and where it stands).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AlertRow {
    /// The server it came from (with `id`, its key).
    pub server: ServerId,
    /// Its id on that server.
    pub id: String,
    /// The profile that produced it.
    pub profile: String,
    /// Kind, title, body, priority, assigned to me.
    #[serde(flatten)]
    pub fields: AlertFields,
    /// When its latest version arrived.
    pub received_at: Timestamp,
    /// The record's status, where its profile names it.
    pub status: Option<String>,
    /// The backend's own time for the latest version.
    pub server_time: Option<Timestamp>,
    /// First arrival, notified, read, acknowledged, responses.
    #[serde(flatten)]
    pub life: Life,
}

impl From<StoredAlert> for AlertRow {
    fn from(stored: StoredAlert) -> Self {
        Self {
            server: stored.server,
            id: stored.alert.id,
            profile: stored.alert.profile,
            fields: stored.alert.fields,
            received_at: stored.alert.received_at,
            status: stored.alert.status,
            server_time: stored.alert.server_time,
            life: stored.life,
        }
    }
}

impl AlertRow {
    /// The row of an alert the history could not record (shown anyway, never read or acknowledged).
    pub fn unrecorded(server: &ServerId, alert: &Alert) -> Self {
        Self {
            server: server.clone(),
            id: alert.id.clone(),
            profile: alert.profile.clone(),
            fields: alert.fields.clone(),
            received_at: alert.received_at,
            status: alert.status.clone(),
            server_time: alert.server_time,
            life: Life {
                first_received_at: alert.received_at,
                notified_at: None,
                read_at: None,
                acknowledged_at: None,
                update_count: 0,
                responses: Vec::new(),
            },
        }
    }
}

/// One signed-in server and its link.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
// What the window shows of a server: independent facts, not a state machine.
#[allow(clippy::struct_excessive_bools)]
pub struct ServerView {
    /// Which server (its URL, the `server` of its alerts).
    pub server: ServerId,
    /// What the user calls it.
    pub label: String,
    /// The profile's name.
    pub profile: String,
    /// The built-in demo backend.
    pub demo: bool,
    /// Started with `--profile/--server` for this run only (not in the saved list).
    pub scripted: bool,
    /// Set up by the department (a system `servers.toml`): the user signs in to it but cannot remove it.
    pub managed: bool,
    /// The link's state.
    pub link: LinkState,
    /// When the link entered this state.
    pub since: Timestamp,
    /// When it was last live, while it is not (`null` while live or before the first connection).
    pub down_since: Option<Timestamp>,
    /// Delivery latency of the latest alert (received time minus the backend's time), when the backend stamps
    /// its records.
    #[ts(type = "number | null")]
    pub latency_ms: Option<u64>,
    /// Unread alerts from it.
    #[ts(type = "number")]
    pub unread: u64,
    /// Its link is `http://` or `ws://` to another machine: alerts and credentials cross the network
    /// unencrypted.
    pub unencrypted: bool,
    /// The certificate authority file trusted for this server besides the system's, if it has one (the
    /// sign-in form offers it again).
    pub ca_file: Option<String>,
    /// Its sign-in's lifetime, when the token's end is known.
    pub session: Option<super::SessionView>,
    /// What signing in to it again needs besides the password.
    pub sign_in: super::SignInAgain,
}

/// A time a link was down and the backend could not tell what was missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct GapView {
    /// The server.
    pub server: ServerId,
    /// When the link went down.
    pub from: Timestamp,
    /// When it was back (`null` while still down).
    pub to: Option<Timestamp>,
    /// What it means.
    pub note: String,
}

impl From<crate::store::Gap> for GapView {
    fn from(gap: crate::store::Gap) -> Self {
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
        until: Option<Timestamp>,
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

/// Something the user should know, as facts; each front-end words it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Notice {
    /// The history cannot be written: alerts are shown (and notified) but not kept.
    HistoryFailed {
        /// Why.
        message: String,
    },
    /// Desktop notifications cannot be shown.
    NotificationsFailed {
        /// Why.
        message: String,
    },
    /// An alert was acknowledged from its notification.
    Acknowledged {
        /// Its server.
        server: ServerId,
        /// Its id.
        id: String,
    },
    /// A response was made from an alert's notification ("En route").
    Responded {
        /// Its server.
        server: ServerId,
        /// Its id.
        id: String,
        /// The response's label.
        response: String,
    },
    /// A response (an acknowledgement, or a status response) was kept here, but the server refused it for good.
    WriteBackFailed {
        /// The server.
        server: ServerId,
        /// The alert.
        id: String,
        /// Its title.
        title: String,
        /// The response's label.
        response: String,
        /// Why.
        message: String,
    },
    /// A response could not be sent yet; it waits in the outbox and is sent again until the server takes it.
    ResponseDelayed {
        /// The server.
        server: ServerId,
        /// The alert.
        id: String,
        /// Its title.
        title: String,
        /// The response's label.
        response: String,
        /// Why it did not get through.
        message: String,
    },
    /// A delayed response reached the server.
    ResponseDelivered {
        /// The server.
        server: ServerId,
        /// The alert.
        id: String,
        /// Its title.
        title: String,
        /// The response's label.
        response: String,
    },
    /// An alert is still unacknowledged after repeated notifications.
    Escalated {
        /// Its server.
        server: ServerId,
        /// Its id.
        id: String,
    },
    /// One of the department's files (a system `servers.toml`) could not be read; what it lists is missing.
    DepartmentFileInvalid {
        /// Which file, and what is wrong.
        message: String,
    },
    /// The saved server list could not be read.
    ServersFileInvalid {
        /// What is wrong, and where the old file was kept.
        message: String,
    },
    /// The saved server list could not be written.
    ServersFileNotSaved {
        /// Why.
        message: String,
    },
    /// A link was down, or a list could not be read, and the backend cannot tell what was missed.
    Gap {
        /// The server.
        server: ServerId,
        /// What the user calls it.
        label: String,
        /// When it went down.
        from: Timestamp,
        /// When it was back.
        to: Timestamp,
        /// Why nothing could be caught up.
        reason: String,
    },
    /// A server's answers do not fit its profile: alerts arrive without what they should carry, or not at all.
    Problem {
        /// The server.
        server: ServerId,
        /// What the user calls it.
        label: String,
        /// What does not fit.
        message: String,
    },
    /// A server's sign-in cannot be renewed and ends at `expires_at` (or ended): sign in again.
    SessionEnding {
        /// The server.
        server: ServerId,
        /// What the user calls it.
        label: String,
        /// When the token expires.
        expires_at: Timestamp,
    },
    /// A server's sign-in was renewed.
    SessionRenewed {
        /// The server.
        server: ServerId,
        /// What the user calls it.
        label: String,
        /// When the new token expires.
        expires_at: Timestamp,
    },
    /// A saved or scripted server could not be connected.
    ConnectFailed {
        /// The server as given.
        server: String,
        /// Why.
        error: ErrorView,
    },
}

/// Restoring the saved servers after start: how far it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct Progress {
    /// Servers done.
    pub done: u32,
    /// Servers in all.
    pub total: u32,
}

/// What the UI draws: the whole of it in a [`DeskEvent::Snapshot`] (when it subscribes, and after changes that
/// touch many rows), or what changed in a [`DeskEvent::Batch`] (at most every 50 ms). The list's rows come a
/// window at a time ([`super::ListRequest`]), and again in `list` when the window changes.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct View {
    /// Every signed-in server, with its current state.
    pub servers: Vec<ServerView>,
    /// Snapshot: none. Batch: the alerts new or changed since the last batch (a detail pane showing one of them
    /// reads it again). Their rows come in `list` where the window shows them: only the rows in view cross to the
    /// web view, never every new alert.
    pub changed: Vec<super::AlertKey>,
    /// The window the view asked for, again, when anything in it changed (its rows, its offset, the counts).
    pub list: Option<super::ListWindow>,
    /// Unread alerts in all.
    #[ts(type = "number")]
    pub unread: u64,
    /// Notification state.
    pub notifications: NotificationsView,
    /// Why notifications cannot be shown, while they cannot.
    pub notify_failure: Option<String>,
    /// The saved servers being restored after start (`null` once done, or with none to restore).
    pub restoring: Option<Progress>,
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
        server: ServerId,
        /// Its id.
        id: String,
        /// Repeated notifications went unanswered: bring the window to the front and ask for attention.
        escalate: bool,
    },
    /// Open the sign-in form for this server, filled in (a notification's "Sign in again").
    SignIn {
        /// The server.
        server: ServerId,
    },
    /// Something the user should know.
    Notice {
        /// How serious.
        level: NoticeLevel,
        /// What happened.
        notice: Notice,
    },
}

/// The detail pane of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AlertDetail {
    /// The row.
    pub alert: AlertRow,
    /// The backend's event name.
    pub event: String,
    /// How the latest version arrived.
    pub source: Source,
    /// Its times in order (the server's, received, notified, read, acknowledged, responses made and
    /// confirmed), each with the latency since the one before.
    pub timeline: Vec<Moment>,
    /// Earlier versions, oldest first.
    pub trail: Vec<TrailEntry>,
    /// The payload, pretty-printed JSON (shown as text).
    pub payload: String,
    /// Whether acknowledging also tells the server.
    pub writes_back: bool,
    /// The status responses its profile offers (each also acknowledges).
    pub responses: Vec<ResponseChoice>,
}

/// A status response a profile offers ("En route").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ResponseChoice {
    /// Its name (what `respond` takes).
    pub name: String,
    /// Its label.
    pub label: String,
}

/// A profile the sign-in form offers.
#[allow(clippy::struct_excessive_bools)] // independent facts the form shows
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ProfileInfo {
    /// The name to sign in with (a built-in name, or the imported file's path).
    pub name: String,
    /// One line.
    pub description: String,
    /// Built in, or imported.
    pub builtin: bool,
    /// Provided by the department (a system `profiles/` directory) rather than imported by the user.
    pub managed: bool,
    /// The server to suggest.
    pub default_server: Option<String>,
    /// Variables the form asks for.
    pub variables: Vec<VariableInfo>,
    /// Signs in with a username and password (otherwise it connects without credentials).
    pub login: bool,
    /// The server may not need a sign-in at all (its socket is open until it refuses): the form may be left
    /// without a username.
    pub sign_in_optional: bool,
}

/// A profile variable, as the sign-in form asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
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

/// UI -> Rust: the sign-in form. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq, Deserialize, TS)]
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
    /// A certificate authority file (PEM, a full path) trusted for this server besides the system's: for a
    /// server whose certificate comes from the department's own CA. Saved with the server.
    #[serde(default)]
    pub ca_file: Option<String>,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("profile", &self.profile)
            .field("server", &self.server)
            .field("label", &self.label)
            .field("vars", &self.vars)
            .field("username", &self.username)
            .field("password", &"***")
            .field("ca_file", &self.ca_file)
            .finish()
    }
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
        "src-tauri/core/src/engine/view.rs",
        REGENERATE,
        &[
            Timestamp::decl(),
            ServerId::decl(),
            Kind::decl(),
            Priority::decl(),
            Source::decl(),
            LinkState::decl(),
            AlertFields::decl(),
            crate::store::ResponseState::decl(),
            crate::store::Response::decl(),
            crate::store::MomentKind::decl(),
            Moment::decl(),
            Life::decl(),
            AlertRow::decl(),
            super::SessionView::decl(),
            super::SignInAgain::decl(),
            ServerView::decl(),
            GapView::decl(),
            NotificationsView::decl(),
            NoticeLevel::decl(),
            EngineErrorKind::decl(),
            ErrorView::decl(),
            Notice::decl(),
            Progress::decl(),
            crate::store::ListFilter::decl(),
            super::AlertKey::decl(),
            super::ListRequest::decl(),
            super::ListItem::decl(),
            super::WindowItem::decl(),
            super::ListWindow::decl(),
            View::decl(),
            DeskEvent::decl(),
            TrailEntry::decl(),
            ResponseChoice::decl(),
            AlertDetail::decl(),
            ProfileInfo::decl(),
            VariableInfo::decl(),
            SignInForm::decl(),
            NotificationsRequest::decl(),
            crate::link::probe::FieldSample::decl(),
            crate::link::probe::ConnectionReport::decl(),
            crate::link::probe::BaseReport::decl(),
            crate::link::probe::EventReport::decl(),
            crate::link::probe::ListReport::decl(),
            crate::link::probe::ProbeReport::decl(),
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
    fn a_sign_in_form_never_shows_its_password() {
        let form: SignInForm = serde_json::from_value(serde_json::json!({
            "profile": "demo", "server": "http://127.0.0.1:8765", "username": "officer",
            "password": "hunter2-SECRET"
        }))
        .unwrap();
        for shown in [format!("{form:?}"), format!("{form:#?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(
                shown.contains("officer") && shown.contains("***"),
                "{shown}"
            );
        }
    }

    #[test]
    fn events_serialize_as_the_ui_expects() {
        let event = DeskEvent::Focus {
            server: ServerId::from_stored("http://a"),
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
