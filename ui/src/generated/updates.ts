// Generated from src-tauri/src/updates.rs by ts-rs; do not edit.
// Regenerate: UPDATE_BINDINGS=1 cargo test -p alertdesk bindings

export type UpdateStatus = { "type": "notChecked" } | { "type": "checking" } | { "type": "disabled", reason: string, } | { "type": "upToDate", currentVersion: string, checkedAt: string, } | { "type": "available", currentVersion: string, version: string, notes: string | null, date: string | null, } | { "type": "error", message: string, };

export type UpdateProgress = { "type": "started", contentLength: number | null, } | { "type": "progress", downloaded: number, total: number | null, } | { "type": "waiting", reason: string, } | { "type": "installing" } | { "type": "finished" } | { "type": "failed", message: string, };

export type UpdateErrorKind = "disabled" | "noUpdate" | "busy" | "cancelled" | "check" | "download" | "verify" | "install";

export type UpdateError = { kind: UpdateErrorKind, message: string, };
