//! Alertdesk's core: everything that is not the desktop window.
//!
//! It builds and tests without a display, `WebKitGTK` or Tauri (CI checks its dependency tree), so the
//! headless listener and the desktop app share one implementation.
//!
//! # Layout
//!
//! - [`paths`]: where settings, data and logs live (XDG directories, or one `--data-dir` for everything).
//! - [`settings`]: the user's `settings.toml`, strictly parsed (unknown keys are errors with a line number).
//! - [`secret`]: [`secret::Token`], a credential that never prints itself in logs or debug output.
//! - [`error`]: the crate's error enum and `Result` alias.
//! - [`alert`]: [`alert::Alert`], the one normalized alert every backend event becomes.
//! - [`profile`]: declarative backend profiles (TOML): connection, auth, subscriptions, backfill lists, and the
//!   rules and `{{ }}` templates that turn events into alerts; built-in ones for each seed backend and the demo.
//! - [`protocol`]: the wire protocols behind one `Transport` trait: raw JSON WebSocket and Socket.IO, over the
//!   pure Engine.IO/Socket.IO framing of [`protocol::sio_frame`].
//! - [`server`]: a backend's address, normalized, and its HTTP and WebSocket URLs.
//! - [`auth`]: the login request and the token stores ([`auth::KeyringStore`]: the OS keyring, the only place
//!   tokens are kept).
//! - [`supervisor`]: one connection's life: connect, turn events into alerts (with REST fetches), catch up
//!   after reconnects, poll while the socket is down, reconnect with backoff, stop on rejected credentials.
//! - [`sounds`]: the bundled notification tones, extracted to the data directory for `sound-file` hints.
//! - [`acknowledge`]: writes an acknowledgement back to the server where the profile says how.
//! - [`wake`]: notices a wake from sleep or a network change, so links reconnect at once.
//! - [`history`]: applies a supervisor's updates to the store in batches and says what is news (exactly once).
//! - [`store`]: the alert history (SQLite): alerts deduplicated by (server, id) with their trail of updates,
//!   read and acknowledged state, connection gaps, backfill cursors, retention; a damaged file is set aside.
//! - [`notify`]: notifications as values ([`notify::Notification`]) and the [`notify::Notifier`] that shows
//!   them ([`notify::RecordingNotifier`] for tests; the desktop shell brings the D-Bus one).
//! - [`dbus_notifier`]: the [`notify::Notifier`] for the desktop's notification service (notify-rust over
//!   D-Bus), reporting button clicks back; asks the server whether it plays sounds, and plays the tones itself
//!   when it does not.
//! - [`player`]: plays the bundled tones in-process (rodio, on a thread of its own) behind a small
//!   [`player::Player`] trait ([`player::RecordingPlayer`] for tests).
//! - [`speech`]: reads critical alerts aloud through `spd-say` or `espeak-ng` (`speak_critical`, off by default).
//! - [`desk`]: the desktop app's engine without the window: every signed-in server's link, the history, the
//!   policy, and the typed events the UI draws ([`desk::view`], with generated TypeScript types).
//! - [`policy`]: the alerting policy: which alerts notify, repeats and escalation until acknowledged, burst
//!   summaries, quiet hours and pauses with their overrides, the link-health alarm, tones per priority.

#![warn(missing_docs)]

pub mod acknowledge;
pub mod alert;
pub mod auth;
pub mod dbus_notifier;
pub mod desk;
pub mod error;
pub mod history;
pub mod notify;
pub mod paths;
pub mod player;
pub mod policy;
pub mod profile;
pub mod protocol;
pub mod secret;
pub mod server;
pub mod settings;
pub mod sounds;
pub mod speech;
pub mod store;
pub mod supervisor;
pub mod wake;

pub use error::{Error, Result};

/// The product name, as shown to users and used for directory names.
pub const APP_NAME: &str = "alertdesk";

/// This build's version (from the workspace `Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
