// Generated from src-tauri/core/src/desk/view.rs by ts-rs; do not edit.
// Regenerate: UPDATE_BINDINGS=1 cargo test -p alertdesk-core bindings

export type Kind = "report" | "assignment" | "update" | "alert" | "info";

export type Priority = "low" | "normal" | "high" | "critical";

export type Source = "live" | "backfill" | "poll";

export type LinkState = { "status": "connecting" } | { "status": "live" } | { "status": "reconnecting", 
/**
 * Milliseconds until the next attempt.
 */
retry_in_ms: number, 
/**
 * Why the link went down.
 */
reason: string, } | { "status": "polling", 
/**
 * Seconds between polls.
 */
every_s: number, 
/**
 * Why the WebSocket is down.
 */
reason: string, } | { "status": "auth_failed", 
/**
 * What the server said.
 */
reason: string, } | { "status": "stopped" };

export type AlertRow = { 
/**
 * The server it came from (with `id`, its key).
 */
server: string, 
/**
 * Its id on that server.
 */
id: string, 
/**
 * The profile that produced it.
 */
profile: string, 
/**
 * What it is about.
 */
kind: Kind, 
/**
 * One line.
 */
title: string, 
/**
 * The key fields.
 */
body: string, 
/**
 * How urgent.
 */
priority: Priority, 
/**
 * Assigned to the signed-in user.
 */
assignedToMe: boolean, 
/**
 * When its first version arrived.
 */
firstReceivedAt: string, 
/**
 * When its latest version arrived.
 */
receivedAt: string, 
/**
 * The backend's own time for the record, when the payload has one.
 */
serverTime: string | null, 
/**
 * When it was read; `null` while unread.
 */
readAt: string | null, 
/**
 * When it was acknowledged.
 */
acknowledgedAt: string | null, 
/**
 * How many updates merged into it.
 */
updateCount: number, };

export type ServerView = { 
/**
 * Stable id (`profile@server`, as in the keyring).
 */
id: string, 
/**
 * What the user calls it.
 */
label: string, 
/**
 * The profile's name.
 */
profile: string, 
/**
 * The server's URL (the `server` of its alerts).
 */
server: string, 
/**
 * The built-in demo backend.
 */
demo: boolean, 
/**
 * Started with `--profile/--server` for this run only (not in the saved list).
 */
scripted: boolean, 
/**
 * The link's state.
 */
link: LinkState, 
/**
 * When the link entered this state.
 */
since: string, 
/**
 * When it was last live, while it is not (`null` while live or before the first connection).
 */
downSince: string | null, 
/**
 * Delivery latency of the latest alert (received time minus the backend's time), when the backend stamps
 * its records.
 */
latencyMs: number | null, 
/**
 * Unread alerts from it.
 */
unread: number, };

export type GapView = { 
/**
 * The server.
 */
server: string, 
/**
 * When the link went down.
 */
from: string, 
/**
 * When it was back (`null` while still down).
 */
to: string | null, 
/**
 * For the user.
 */
note: string, };

export type NotificationsView = { "mode": "normal" } | { "mode": "quietHours", 
/**
 * Local time of day.
 */
until: string, } | { "mode": "paused", 
/**
 * When the pause ends (`null`: until resumed).
 */
until: string | null, } | { "mode": "silenced" };

export type NoticeLevel = "info" | "warning" | "error";

export type View = { 
/**
 * Every signed-in server, with its current state.
 */
servers: Array<ServerView>, 
/**
 * Snapshot: the newest alerts, newest first (at most [`super::LIST_LIMIT`]). Batch: new and changed rows,
 * which replace rows with the same server and id.
 */
alerts: Array<AlertRow>, 
/**
 * Snapshot: link gaps, newest first. Batch: new gaps.
 */
gaps: Array<GapView>, 
/**
 * Unread alerts in all.
 */
unread: number, 
/**
 * Notification state.
 */
notifications: NotificationsView, 
/**
 * Why notifications cannot be shown, while they cannot.
 */
notifyFailure: string | null, };

export type DeskEvent = { "type": "snapshot" } & View | { "type": "batch" } & View | { "type": "focus", 
/**
 * Its server.
 */
server: string, 
/**
 * Its id.
 */
id: string, 
/**
 * Repeated notifications went unanswered: bring the window to the front and ask for attention.
 */
escalate: boolean, } | { "type": "notice", 
/**
 * How serious.
 */
level: NoticeLevel, 
/**
 * What happened and what to do.
 */
message: string, };

export type TrailEntry = { 
/**
 * When this version arrived.
 */
receivedAt: string, 
/**
 * When the next version replaced it.
 */
replacedAt: string, 
/**
 * How it arrived.
 */
source: Source, 
/**
 * Its kind.
 */
kind: Kind, 
/**
 * Its title.
 */
title: string, 
/**
 * Its body.
 */
body: string, 
/**
 * Its priority.
 */
priority: Priority, 
/**
 * Assigned to me then.
 */
assignedToMe: boolean, };

export type AlertDetail = { 
/**
 * The row.
 */
alert: AlertRow, 
/**
 * The backend's event name.
 */
event: string, 
/**
 * How the latest version arrived.
 */
source: Source, 
/**
 * When a notification for it was shown in this run (`null`: none, or before this run).
 */
shownAt: string | null, 
/**
 * Earlier versions, oldest first.
 */
trail: Array<TrailEntry>, 
/**
 * The payload, pretty-printed JSON (shown as text).
 */
payload: string, 
/**
 * Whether acknowledging also tells the server.
 */
writesBack: boolean, };

export type ProfileInfo = { 
/**
 * The name to sign in with (a built-in name, or the imported file's path).
 */
name: string, 
/**
 * One line.
 */
description: string, 
/**
 * Built in, or imported.
 */
builtin: boolean, 
/**
 * The server to suggest.
 */
defaultServer: string | null, 
/**
 * Variables the form asks for.
 */
variables: Array<VariableInfo>, 
/**
 * Signs in with a username and password (otherwise it connects without credentials).
 */
login: boolean, };

export type VariableInfo = { 
/**
 * Its name.
 */
name: string, 
/**
 * What to put there.
 */
description: string, 
/**
 * The value used when left empty.
 */
default: string | null, 
/**
 * Must be filled in.
 */
required: boolean, };

export type SignInForm = { 
/**
 * A built-in profile's name or an imported profile's path ([`ProfileInfo::name`]).
 */
profile: string, 
/**
 * The server URL.
 */
server: string, 
/**
 * What to call it (default: the profile and host).
 */
label: string | null, 
/**
 * Profile variables.
 */
vars: { [key in string]?: string }, 
/**
 * Username (for profiles that sign in).
 */
username: string, 
/**
 * Password; used once for the login request and never stored.
 */
password: string, };

export type NotificationsRequest = { "mode": "pause", 
/**
 * Minutes.
 */
minutes: number | null, } | { "mode": "resume" } | { "mode": "silence", 
/**
 * On.
 */
on: boolean, };
