//! The engine's errors: typed in Rust, `{kind, message}` on the way to the UI. The message states what went
//! wrong; each front-end adds what to do about it in its own words (a flag for the CLI, a button for the
//! window), chosen by the [`EngineErrorKind`].

use serde::{Serialize, Serializer};
use ts_rs::TS;

use crate::domain::{ServerError, ServerId};
use crate::link::auth::{KeyringError, LoginError};
use crate::link::net::NetError;
use crate::link::spec::SpecError;
use crate::profile::{ProfileError, VariableError};
use crate::store::StoreError;

/// What the engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A profile that does not load.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A server address that is not one.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A profile variable unknown, or required and missing.
    #[error(transparent)]
    Variables(#[from] VariableError),
    /// The profile cannot be applied to the server (a missing token, a variable a connect step needs).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The login request failed or was refused.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The OS keyring failed.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The history failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing in needs a username and password.
    #[error("a username and password are needed to sign in to {profile}")]
    CredentialsNeeded {
        /// The profile.
        profile: String,
    },
    /// The profile signs in with a token only (no login request).
    #[error("profile {profile} has no login request; it needs a token")]
    NoLogin {
        /// The profile.
        profile: String,
    },
    /// The server is signed in with another profile.
    #[error("{server} is already signed in with profile {profile}")]
    AlreadySignedIn {
        /// The server.
        server: ServerId,
        /// The profile it uses.
        profile: String,
    },
    /// An imported profile takes a built-in one's name.
    #[error("{file}: a built-in profile is already called {name:?}; rename it (the `name` key)")]
    BuiltinName {
        /// The file imported.
        file: String,
        /// The name.
        name: String,
    },
    /// A sign-in form named a profile that is neither built in nor imported (another file on this machine).
    #[error(
        "profile {profile:?} is neither built in nor imported; only those may be signed in with"
    )]
    ProfileNotOffered {
        /// The name or path the form gave.
        profile: String,
    },
    /// No such server is signed in.
    #[error("no server {0} is signed in")]
    UnknownServer(ServerId),
    /// No such alert.
    #[error("no alert {id} from {server}")]
    UnknownAlert {
        /// The server.
        server: ServerId,
        /// The alert's id.
        id: String,
    },
    /// The alert's profile offers no such response.
    #[error("profile {profile} offers no response {response:?} (it offers: {offered})")]
    UnknownResponse {
        /// The profile.
        profile: String,
        /// The response asked for.
        response: String,
        /// What it offers, comma-separated.
        offered: String,
    },
    /// The server was set up by the department (a system `servers.toml`): it cannot be removed here.
    #[error("{server} was set up by your department; it cannot be removed here")]
    Managed {
        /// The server.
        server: ServerId,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The network configuration (a certificate authority file, the client certificate, a proxy) cannot be
    /// used.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The engine is stopping (or stopped).
    #[error("Alertdesk is shutting down")]
    ShuttingDown,
}

/// What kind of failure, for the UI to choose its words and actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum EngineErrorKind {
    /// Bad input: a profile, a server address, a variable, a missing field.
    Input,
    /// The server refused the credentials.
    Credentials,
    /// A token is needed and there is none.
    NoToken,
    /// The server could not be reached or answered wrongly.
    Network,
    /// The OS keyring failed.
    Keyring,
    /// The history failed.
    History,
    /// The server is signed in already.
    Conflict,
    /// No such server or alert.
    NotFound,
    /// Set up by the department: not the user's to change.
    Managed,
    /// A file could not be written.
    Io,
    /// A certificate authority file, the client certificate or the proxy setting cannot be used.
    NetworkSettings,
    /// The engine is stopping.
    ShuttingDown,
}

impl EngineError {
    /// The kind of failure.
    pub fn kind(&self) -> EngineErrorKind {
        use EngineErrorKind as K;
        match self {
            Self::Spec(SpecError::NoToken { .. }) => K::NoToken,
            Self::Login(LoginError::Rejected { .. }) => K::Credentials,
            Self::Profile(_)
            | Self::Server(_)
            | Self::Variables(_)
            | Self::CredentialsNeeded { .. }
            | Self::NoLogin { .. }
            | Self::BuiltinName { .. }
            | Self::ProfileNotOffered { .. }
            | Self::UnknownResponse { .. }
            | Self::Login(LoginError::NoLogin(_))
            | Self::Spec(_) => K::Input,
            Self::Login(_) => K::Network,
            Self::Keyring(_) => K::Keyring,
            Self::Store(_) => K::History,
            Self::AlreadySignedIn { .. } => K::Conflict,
            Self::UnknownServer(_) | Self::UnknownAlert { .. } => K::NotFound,
            Self::Managed { .. } => K::Managed,
            Self::Io { .. } => K::Io,
            Self::Net(_) => K::NetworkSettings,
            Self::ShuttingDown => K::ShuttingDown,
        }
    }

    /// The `{kind, message}` the UI receives.
    pub fn view(&self) -> ErrorView {
        ErrorView {
            kind: self.kind(),
            message: self.to_string(),
        }
    }
}

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ErrorView {
    /// What kind of failure.
    pub kind: EngineErrorKind,
    /// What went wrong (facts; the UI adds what to do).
    pub message: String,
}

impl Serialize for EngineError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_to_the_ui_as_kind_and_message() {
        let error = EngineError::CredentialsNeeded {
            profile: "demo".into(),
        };
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({"kind": "input", "message": "a username and password are needed to sign in to demo"})
        );
        let no_token = EngineError::Spec(SpecError::NoToken {
            server: "http://a".into(),
            profile: "p".into(),
        });
        assert_eq!(no_token.kind(), EngineErrorKind::NoToken);
    }
}
