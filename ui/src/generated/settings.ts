// Generated from src-tauri/core/src/config/pane.rs by ts-rs; do not edit.
// Regenerate: UPDATE_BINDINGS=1 cargo test -p alertdesk-core bindings

export type Theme = "system" | "light" | "dark";

export type QuietHours = { 
/**
 * Start, `HH:MM` (inclusive).
 */
from: string, 
/**
 * End, `HH:MM` (exclusive).
 */
to: string, };

export type PaneKey = "on_duty" | "quiet_hours" | "volume" | "speak_critical" | "autostart" | "theme";

export type SettingsPane = { 
/**
 * `alerting.on_duty`
 */
on_duty: boolean, 
/**
 * `alerting.quiet_hours` (`null`: none).
 */
quiet_hours: QuietHours | null, 
/**
 * `alerting.volume`, 0 to 100.
 */
volume: number, 
/**
 * `alerting.speak_critical`
 */
speak_critical: boolean, 
/**
 * `window.autostart`
 */
autostart: boolean, 
/**
 * `window.theme`
 */
theme: Theme, 
/**
 * The settings the department locked: shown, not changeable.
 */
locked: Array<PaneKey>, 
/**
 * The settings whose value the department set without locking it (the user may change them).
 */
from_department: Array<PaneKey>, 
/**
 * Settings files left out because they are not valid, one sentence each.
 */
problems: Array<string>, };

export type PaneChange = { "key": "on_duty", "value": boolean } | { "key": "quiet_hours", "value": QuietHours | null } | { "key": "volume", "value": number } | { "key": "speak_critical", "value": boolean } | { "key": "autostart", "value": boolean } | { "key": "theme", "value": Theme };

export type SettingsErrorKind = "unknown" | "locked" | "invalid" | "fileInvalid" | "io";

export type SettingsErrorView = { 
/**
 * What kind.
 */
kind: SettingsErrorKind, 
/**
 * The sentence.
 */
message: string, };
