//! Where things are and how the user wants them: [`paths`] (XDG directories, or one `--data-dir`, and the
//! department's system directories), [`settings`] (`settings.toml`, strictly parsed; its `[session]` section in
//! [`session`]), [`layers`] (the department's system files merged under the user's, `locked` keys, where each
//! value came from), [`edit`] (changing one setting in the user's file), [`pane`] (the window's settings pane)
//! and [`lock`] (one owner per data directory).

pub mod edit;
pub mod layers;
pub mod lock;
pub mod pane;
pub mod paths;
pub mod session;
pub mod settings;
