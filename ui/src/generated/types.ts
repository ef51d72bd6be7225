// Generated from src-tauri/core/src/engine/view.rs by ts-rs; do not edit.
// Regenerate: UPDATE_BINDINGS=1 cargo test -p alertdesk-core bindings

export type Timestamp = string;

export type ServerId = string;

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

export type AlertFields = { 
/**
 * What it is about.
 */
kind: Kind, 
/**
 * One line for the list and the notification summary.
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
 * The record is assigned to the signed-in user.
 */
assigned_to_me: boolean, };

export type ResponseState = "pending" | "confirmed" | "failed";

export type Response = { 
/**
 * `acknowledge`, or the profile's name for it (`en_route`).
 */
name: string, 
/**
 * What the user chose ("Acknowledge", "En route").
 */
label: string, 
/**
 * Where it stands.
 */
state: ResponseState, 
/**
 * When the user made it.
 */
made_at: Timestamp, 
/**
 * How many times it was sent.
 */
attempts: number, 
/**
 * When it is sent next (while pending).
 */
next_at: Timestamp | null, 
/**
 * When the server confirmed it, or when it failed for good.
 */
done_at: Timestamp | null, 
/**
 * Why the last attempt failed.
 */
error: string | null, };

export type MomentKind = "server" | "first_received" | "received" | "notified" | "read" | "acknowledged" | "responded" | "confirmed" | "failed";

export type Moment = { 
/**
 * What happened.
 */
what: MomentKind, 
/**
 * When.
 */
at: Timestamp, 
/**
 * Which response, for response moments.
 */
label: string | null, 
/**
 * Milliseconds since the moment before (`null` for the first). Negative when the server's clock is ahead.
 */
after_ms: number | null, };

export type Life = { 
/**
 * When the first version arrived.
 */
first_received_at: Timestamp, 
/**
 * When the user was first told (a notification of its own or in a burst's summary); `None`: never.
 */
notified_at: Timestamp | null, 
/**
 * When it was marked read; `None` while unread.
 */
read_at: Timestamp | null, 
/**
 * When it was acknowledged (or responded to).
 */
acknowledged_at: Timestamp | null, 
/**
 * How many updates merged into it (the trail may hold fewer once retention trimmed it).
 */
update_count: number, 
/**
 * The responses sent (or being sent) to the server for it, oldest first.
 */
responses: Array<Response>, };

export type AlertRow = { 
/**
 * The server it came from (with `id`, its key).
 */
server: ServerId, 
/**
 * Its id on that server.
 */
id: string, 
/**
 * The profile that produced it.
 */
profile: string, 
/**
 * When its latest version arrived.
 */
received_at: Timestamp, 
/**
 * The record's status, where its profile names it.
 */
status: string | null, 
/**
 * The backend's own time for the latest version.
 */
server_time: Timestamp | null, 
/**
 * What it is about.
 */
kind: Kind, 
/**
 * One line for the list and the notification summary.
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
 * The record is assigned to the signed-in user.
 */
assigned_to_me: boolean, 
/**
 * When the first version arrived.
 */
first_received_at: Timestamp, 
/**
 * When the user was first told (a notification of its own or in a burst's summary); `None`: never.
 */
notified_at: Timestamp | null, 
/**
 * When it was marked read; `None` while unread.
 */
read_at: Timestamp | null, 
/**
 * When it was acknowledged (or responded to).
 */
acknowledged_at: Timestamp | null, 
/**
 * How many updates merged into it (the trail may hold fewer once retention trimmed it).
 */
update_count: number, 
/**
 * The responses sent (or being sent) to the server for it, oldest first.
 */
responses: Array<Response>, };

export type SessionView = { 
/**
 * When the token expires.
 */
expires_at: Timestamp, 
/**
 * It is renewed before then, without the user.
 */
renews: boolean, 
/**
 * It cannot be renewed and ends soon (or ended): the window asks to sign in again.
 */
ending: boolean, };

export type SignInAgain = { 
/**
 * The profile as the form names it (a built-in name, or an imported profile's path).
 */
profile: string, 
/**
 * The username last signed in with, where known.
 */
username: string | null, 
/**
 * The profile variables as entered.
 */
vars: { [key in string]?: string }, };

export type ServerView = { 
/**
 * Which server (its URL, the `server` of its alerts).
 */
server: ServerId, 
/**
 * What the user calls it.
 */
label: string, 
/**
 * The profile's name.
 */
profile: string, 
/**
 * The built-in demo backend.
 */
demo: boolean, 
/**
 * Started with `--profile/--server` for this run only (not in the saved list).
 */
scripted: boolean, 
/**
 * Set up by the department (a system `servers.toml`): the user signs in to it but cannot remove it.
 */
managed: boolean, 
/**
 * The link's state.
 */
link: LinkState, 
/**
 * When the link entered this state.
 */
since: Timestamp, 
/**
 * When it was last live, while it is not (`null` while live or before the first connection).
 */
down_since: Timestamp | null, 
/**
 * Delivery latency of the latest alert (received time minus the backend's time), when the backend stamps
 * its records.
 */
latency_ms: number | null, 
/**
 * Unread alerts from it.
 */
unread: number, 
/**
 * Its link is `http://` or `ws://` to another machine: alerts and credentials cross the network
 * unencrypted.
 */
unencrypted: boolean, 
/**
 * The certificate authority file trusted for this server besides the system's, if it has one (the
 * sign-in form offers it again).
 */
ca_file: string | null, 
/**
 * Its sign-in's lifetime, when the token's end is known.
 */
session: SessionView | null, 
/**
 * What signing in to it again needs besides the password.
 */
sign_in: SignInAgain, };

export type GapView = { 
/**
 * The server.
 */
server: ServerId, 
/**
 * When the link went down.
 */
from: Timestamp, 
/**
 * When it was back (`null` while still down).
 */
to: Timestamp | null, 
/**
 * What it means.
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
until: Timestamp | null, } | { "mode": "silenced" };

export type NoticeLevel = "info" | "warning" | "error";

export type EngineErrorKind = "input" | "credentials" | "noToken" | "network" | "keyring" | "history" | "conflict" | "notFound" | "managed" | "io" | "networkSettings" | "shuttingDown";

export type ErrorView = { 
/**
 * What kind of failure.
 */
kind: EngineErrorKind, 
/**
 * What went wrong (facts; the UI adds what to do).
 */
message: string, };

export type Notice = { "kind": "historyFailed", 
/**
 * Why.
 */
message: string, } | { "kind": "notificationsFailed", 
/**
 * Why.
 */
message: string, } | { "kind": "acknowledged", 
/**
 * Its server.
 */
server: ServerId, 
/**
 * Its id.
 */
id: string, } | { "kind": "responded", 
/**
 * Its server.
 */
server: ServerId, 
/**
 * Its id.
 */
id: string, 
/**
 * The response's label.
 */
response: string, } | { "kind": "writeBackFailed", 
/**
 * The server.
 */
server: ServerId, 
/**
 * The alert.
 */
id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * The response's label.
 */
response: string, 
/**
 * Why.
 */
message: string, } | { "kind": "responseDelayed", 
/**
 * The server.
 */
server: ServerId, 
/**
 * The alert.
 */
id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * The response's label.
 */
response: string, 
/**
 * Why it did not get through.
 */
message: string, } | { "kind": "responseDelivered", 
/**
 * The server.
 */
server: ServerId, 
/**
 * The alert.
 */
id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * The response's label.
 */
response: string, } | { "kind": "escalated", 
/**
 * Its server.
 */
server: ServerId, 
/**
 * Its id.
 */
id: string, } | { "kind": "departmentFileInvalid", 
/**
 * Which file, and what is wrong.
 */
message: string, } | { "kind": "serversFileInvalid", 
/**
 * What is wrong, and where the old file was kept.
 */
message: string, } | { "kind": "serversFileNotSaved", 
/**
 * Why.
 */
message: string, } | { "kind": "gap", 
/**
 * The server.
 */
server: ServerId, 
/**
 * What the user calls it.
 */
label: string, 
/**
 * When it went down.
 */
from: Timestamp, 
/**
 * When it was back.
 */
to: Timestamp, 
/**
 * Why nothing could be caught up.
 */
reason: string, } | { "kind": "problem", 
/**
 * The server.
 */
server: ServerId, 
/**
 * What the user calls it.
 */
label: string, 
/**
 * What does not fit.
 */
message: string, } | { "kind": "sessionEnding", 
/**
 * The server.
 */
server: ServerId, 
/**
 * What the user calls it.
 */
label: string, 
/**
 * When the token expires.
 */
expires_at: Timestamp, } | { "kind": "sessionRenewed", 
/**
 * The server.
 */
server: ServerId, 
/**
 * What the user calls it.
 */
label: string, 
/**
 * When the new token expires.
 */
expires_at: Timestamp, } | { "kind": "connectFailed", 
/**
 * The server as given.
 */
server: string, 
/**
 * Why.
 */
error: ErrorView, };

export type Progress = { 
/**
 * Servers done.
 */
done: number, 
/**
 * Servers in all.
 */
total: number, };

export type ListFilter = { 
/**
 * Only this server's alerts (and gaps).
 */
server: ServerId | null, 
/**
 * Only this kind.
 */
kind: Kind | null, 
/**
 * Only this priority and above.
 */
min_priority: Priority | null, 
/**
 * Only unread alerts.
 */
unread_only: boolean, 
/**
 * Text the title, body or id contains (or the server's label, see [`Selection::labelled`]), in any case.
 */
text: string, };

export type AlertKey = { 
/**
 * Its server.
 */
server: ServerId, 
/**
 * Its id.
 */
id: string, };

export type ListRequest = { 
/**
 * The filters.
 */
filter: ListFilter, 
/**
 * The index of the first row wanted.
 */
offset: number, 
/**
 * How many rows (at most [`WINDOW_LIMIT`]).
 */
limit: number, 
/**
 * The index of the row at the top of the view: it stays in view as alerts arrive above it. 0: the view
 * follows the top of the list.
 */
anchor: number, 
/**
 * Instead of `offset`: a window around this alert (`found` says where it is).
 */
around: AlertKey | null, 
/**
 * The window's own request number, echoed in every window for it (newer requests have larger ones).
 */
seq: number, };

export type ListItem = { "type": "alert", 
/**
 * The alert.
 */
alert: AlertRow, 
/**
 * An unacknowledged assignment to me, pinned on top.
 */
pinned: boolean, } | { "type": "gap", 
/**
 * The gap.
 */
gap: GapView, };

export type WindowItem = number | ListItem;

export type ListWindow = { 
/**
 * The request it answers.
 */
seq: number, 
/**
 * Grows with every window sent: one older than a window already drawn is stale.
 */
revision: number, 
/**
 * The index of the first item (the view scrolls by as much as this moved since the last window).
 */
offset: number, 
/**
 * Rows under the filter (alerts and gaps).
 */
total: number, 
/**
 * Alerts under the filter.
 */
alerts: number, 
/**
 * Alerts in all.
 */
all: number, 
/**
 * The rows from `offset` on.
 */
items: Array<WindowItem>, 
/**
 * The revision of the window that `Same` rows refer to (`null`: every row is sent). A view that does not
 * hold that window asks for a fresh one.
 */
base: number | null, 
/**
 * The index of the request's `around` alert, when the filter lists it.
 */
found: number | null, };

export type View = { 
/**
 * Every signed-in server, with its current state.
 */
servers: Array<ServerView>, 
/**
 * Snapshot: none. Batch: the alerts new or changed since the last batch (a detail pane showing one of them
 * reads it again). Their rows come in `list` where the window shows them: only the rows in view cross to the
 * web view, never every new alert.
 */
changed: Array<AlertKey>, 
/**
 * The window the view asked for, again, when anything in it changed (its rows, its offset, the counts).
 */
list: ListWindow | null, 
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
notify_failure: string | null, 
/**
 * The saved servers being restored after start (`null` once done, or with none to restore).
 */
restoring: Progress | null, };

export type DeskEvent = { "type": "snapshot" } & View | { "type": "batch" } & View | { "type": "focus", 
/**
 * Its server.
 */
server: ServerId, 
/**
 * Its id.
 */
id: string, 
/**
 * Repeated notifications went unanswered: bring the window to the front and ask for attention.
 */
escalate: boolean, } | { "type": "signIn", 
/**
 * The server.
 */
server: ServerId, } | { "type": "notice", 
/**
 * How serious.
 */
level: NoticeLevel, 
/**
 * What happened.
 */
notice: Notice, };

export type TrailEntry = { 
/**
 * When this version arrived.
 */
received_at: Timestamp, 
/**
 * When the next version replaced it.
 */
replaced_at: Timestamp, 
/**
 * How this version arrived.
 */
source: Source, 
/**
 * Its backend event name.
 */
event: string, 
/**
 * Its status.
 */
status: string | null, 
/**
 * What it is about.
 */
kind: Kind, 
/**
 * One line for the list and the notification summary.
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
 * The record is assigned to the signed-in user.
 */
assigned_to_me: boolean, };

export type ResponseChoice = { 
/**
 * Its name (what `respond` takes).
 */
name: string, 
/**
 * Its label.
 */
label: string, };

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
 * Its times in order (the server's, received, notified, read, acknowledged, responses made and
 * confirmed), each with the latency since the one before.
 */
timeline: Array<Moment>, 
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
writes_back: boolean, 
/**
 * The status responses its profile offers (each also acknowledges).
 */
responses: Array<ResponseChoice>, };

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
 * Provided by the department (a system `profiles/` directory) rather than imported by the user.
 */
managed: boolean, 
/**
 * The server to suggest.
 */
default_server: string | null, 
/**
 * Variables the form asks for.
 */
variables: Array<VariableInfo>, 
/**
 * Signs in with a username and password (otherwise it connects without credentials).
 */
login: boolean, 
/**
 * The server may not need a sign-in at all (its socket is open until it refuses): the form may be left
 * without a username.
 */
sign_in_optional: boolean, };

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
password: string, 
/**
 * A certificate authority file (PEM, a full path) trusted for this server besides the system's: for a
 * server whose certificate comes from the department's own CA. Saved with the server.
 */
ca_file: string | null, };

export type NotificationsRequest = { "mode": "pause", 
/**
 * Minutes.
 */
minutes: number | null, } | { "mode": "resume" } | { "mode": "silence", 
/**
 * On.
 */
on: boolean, };

export type FieldSample = { 
/**
 * `report.station_id`.
 */
path: string, 
/**
 * `4`, `"Bike stolen"` (cut to 40 characters).
 */
sample: string, };

export type ConnectionReport = { 
/**
 * `socketio` or `websocket`, once one worked.
 */
protocol: string | null, 
/**
 * The WebSocket path that worked.
 */
path: string | null, 
/**
 * A link came up.
 */
connected: boolean, 
/**
 * Whether the socket needs a token: `null` when it could not be told.
 */
auth_needed: boolean | null, 
/**
 * Whether the token given was accepted (`null`: none given, or not needed).
 */
token_accepted: boolean | null, 
/**
 * Every attempt, in order: "socketio /socket.io/: refused (Unauthorized)".
 */
attempts: Array<string>, };

export type BaseReport = { 
/**
 * The base that answers (or the profile's, when none did).
 */
base: string, 
/**
 * The profile's default.
 */
profile_default: string, 
/**
 * A candidate answered.
 */
answered: boolean, };

export type EventReport = { 
/**
 * The event name.
 */
name: string, 
/**
 * How many times it came.
 */
count: number, 
/**
 * The profile's rule that matched (its index), if any.
 */
rule: number | null, 
/**
 * What it became: `alert`, `ignored`, `no rule`, `no id`.
 */
outcome: string, 
/**
 * The alert's title, when it became one.
 */
title: string | null, 
/**
 * Title and body fields with no value (filled with a summary of the record).
 */
missing: Array<string>, 
/**
 * Title and body fields with no value that took their fallback.
 */
fell_back: Array<string>, 
/**
 * The record's field paths with a short sample value, as first seen.
 */
fields: Array<FieldSample>, };

export type ListReport = { 
/**
 * `GET /api/reports`.
 */
list: string, 
/**
 * It answered with records where they could be found.
 */
ok: boolean, 
/**
 * `HTTP 200`, `HTTP 404 Not Found`, `unreachable: ...`.
 */
status: string, 
/**
 * `a bare list of 3`, `an object with fields: reports, total`.
 */
shape: string | null, 
/**
 * The profile's `items` (empty: found by itself).
 */
items: string, 
/**
 * Where the records were (empty: the answer itself), when not where `items` says.
 */
found_at: string | null, 
/**
 * How many records.
 */
records: number, 
/**
 * The profile's `cursor` field, if it has one.
 */
cursor: string | null, 
/**
 * The field the records carry for it (the profile's, or its other spelling), or `null` when none.
 */
cursor_found: string | null, 
/**
 * Why it could not be read, if it could not.
 */
error: string | null, 
/**
 * The first record's field paths with samples.
 */
fields: Array<FieldSample>, };

export type ProbeReport = { 
/**
 * The server probed.
 */
server: string, 
/**
 * The profile held against it, if any.
 */
profile: string | null, 
/**
 * How the connection went.
 */
connection: ConnectionReport, 
/**
 * Where the REST API is, when the profile has `api_base`.
 */
api_base: BaseReport | null, 
/**
 * Each event name seen while watching.
 */
events: Array<EventReport>, 
/**
 * Each of the profile's lists.
 */
lists: Array<ListReport>, 
/**
 * What to change, in a sentence each (an override written with `--write` does what it can of it).
 */
advice: Array<string>, };
