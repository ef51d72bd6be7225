//! Where things are and how the user wants them: [`paths`] (XDG directories, or one `--data-dir`) and
//! [`settings`] (`settings.toml`, strictly parsed).

pub mod paths;
pub mod settings;
