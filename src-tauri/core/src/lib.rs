//! Alertdesk's core: everything that is not a window or a terminal.
//!
//! It builds and tests without a display, `WebKitGTK` or Tauri (CI checks its dependency tree). Both
//! front-ends, the desktop app and `alertdesk listen`, run the one [`engine`]; they differ only in how they parse
//! their input, where the engine's events go (a [`engine::Sink`]), and the words they use.
//!
//! # Layout
//!
//! The folders are the layers an alert passes through, from the wire to the user (`docs/architecture.md` follows
//! one alert through them):
//!
//! - [`domain`]: the values every layer shares: [`domain::Alert`] and its [`domain::AlertFields`], a server's
//!   address and [`domain::ServerId`], [`domain::Timestamp`], and [`domain::Token`], which never prints itself.
//! - [`config`]: where settings, data and logs live ([`config::paths`]), the user's `settings.toml`
//!   ([`config::settings`]) and the data directory's one owner ([`config::lock`]).
//! - [`profile`]: declarative backend profiles (TOML): connection, auth, subscriptions, lists, and the rules and
//!   `{{ }}` templates that turn events into alerts; one built in for each seed backend and the demo.
//! - [`link`]: one server's link: the wire protocols ([`link::protocol`]), the link spec ([`link::spec`]), the
//!   state machine ([`link::supervisor`]) with its backoff, live events made into alerts ([`link::events`]),
//!   catching up after outages ([`link::catchup`], typed [`link::cursor`]s), REST ([`link::rest`] over the one
//!   client of [`link::http`]: redirects within the origin, answers within a cap), the one TLS configuration and
//!   proxy route every connection takes ([`link::net`]), sign-in, renewal and token stores ([`link::auth`]), when
//!   a sign-in ends ([`link::session`]), acknowledgement write-back ([`link::writeback`]) and wake detection
//!   ([`link::wake`]).
//! - [`store`]: the alert history (SQLite): one transaction per batch ([`store::Store::apply`]) decides what is
//!   news, exactly once; [`store::history`] runs it on a thread of its own for async callers.
//! - [`alerting`]: the notification [`alerting::policy`], notifications as values ([`alerting::notify`]), the
//!   D-Bus notifier ([`alerting::dbus`]), in-process tones ([`alerting::player`], [`alerting::sounds`]) and
//!   speech ([`alerting::speech`]).
//! - [`engine`]: the one pipeline every front-end runs: links, history, policy, notifier, speech and
//!   write-back, driven by one actor; its handle, sinks, typed errors and the UI's typed view
//!   ([`engine::view`], with generated TypeScript types).
//! - [`error`]: the crate-level error for paths and settings.

#![warn(missing_docs)]

pub mod alerting;
pub mod config;
pub mod domain;
pub mod engine;
pub mod error;
pub mod link;
pub mod profile;
pub mod store;

pub use error::{Error, Result};

/// The product name, as shown to users and used for directory names.
pub const APP_NAME: &str = "alertdesk";

/// The application id (reverse DNS): the Tauri `identifier`, and the name of the installed desktop entry
/// (`APP_ID.desktop`), AppStream metainfo and icons. Notifications name it in their `desktop-entry` hint.
pub const APP_ID: &str = "app.alertdesk.Alertdesk";

/// This build's version (from the workspace `Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
