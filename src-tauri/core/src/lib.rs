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
//! - [`profile`]: declarative backend profiles (TOML): connection, auth, subscriptions, and the rules and
//!   `{{ }}` templates that turn events into alerts; six built in: one per seed backend and `demo`.
//! - [`protocol`]: wire protocols as pure encode/parse functions ([`protocol::sio_frame`]: Engine.IO v4 and
//!   Socket.IO v4 text frames).
//!
//! - [`server`]: a backend's address, normalized, and its HTTP and WebSocket URLs.
//! - [`auth`]: the login request and the token stores ([`auth::KeyringStore`]: the OS keyring, the only place
//!   tokens are kept).
//! - [`supervisor`]: one connection's life: connect through the profile's transport, turn events into alerts
//!   (with REST fetches), reconnect with backoff, stop on rejected credentials.
//!
//! Later layers (history store, alert policy) each get a module here.

#![warn(missing_docs)]

pub mod alert;
pub mod auth;
pub mod error;
pub mod paths;
pub mod profile;
pub mod protocol;
pub mod secret;
pub mod server;
pub mod settings;
pub mod supervisor;

pub use error::{Error, Result};

/// The product name, as shown to users and used for directory names.
pub const APP_NAME: &str = "alertdesk";

/// This build's version (from the workspace `Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
