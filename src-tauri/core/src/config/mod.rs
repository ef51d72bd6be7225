//! Where things are and how the user wants them: [`paths`] (XDG directories, or one `--data-dir`),
//! [`settings`] (`settings.toml`, strictly parsed; its `[session]` section in [`session`]) and [`lock`] (one
//! owner per data directory).

pub mod lock;
pub mod paths;
pub mod session;
pub mod settings;
