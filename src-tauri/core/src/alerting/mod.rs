//! Getting an officer's attention: the [`policy`] decides which alerts notify, repeat, escalate or fold into a
//! summary; [`notify`] describes notifications as values behind the [`notify::Notifier`] trait; [`dbus`] shows
//! them on the desktop's notification service; [`player`] plays the bundled [`sounds`] in-process when that
//! service plays none; [`speech`] reads critical alerts aloud.

pub mod dbus;
pub mod notify;
pub mod player;
pub mod policy;
pub mod sounds;
pub mod speech;
