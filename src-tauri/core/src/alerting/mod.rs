//! Getting an officer's attention: the [`policy`] decides which alerts notify, repeat, escalate or fold into a
//! summary; [`notify`] describes notifications as values behind the [`notify::Notifier`] trait; [`dbus`] shows
//! them on the desktop's notification service; [`player`] plays the bundled [`sounds`] in-process when that
//! service plays none; [`speech`] reads critical alerts aloud. Each of them holds a bounded amount whatever the
//! number of alerts: what a queue drops past its bound is counted and logged (`bounded.rs`).

mod bounded;
pub mod dbus;
pub mod notify;
pub mod player;
pub mod policy;
pub mod sounds;
pub mod speech;
