//! The values every layer shares: an [`Alert`] and its [`AlertFields`], a server's address and [`ServerId`], the
//! [`Timestamp`] every domain type carries, and the [`Token`] that never prints itself.

pub mod alert;
pub mod secret;
pub mod server;
pub mod text;
pub mod time;

pub use alert::{Alert, AlertFields, Kind, Priority, Source, Stated};
pub use secret::Token;
pub use server::{Server, ServerError, ServerId};
pub use text::one_line;
pub use time::{BadTime, Timestamp};
