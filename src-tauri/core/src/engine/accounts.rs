//! Sign-in and tokens: the login request, the token store (the OS keyring), and the profiles the sign-in form
//! offers (built in, the department's in a system directory's `profiles/`, or imported into `config/profiles/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::EngineError;
use super::servers::{ServerEntry, PROFILES_DIR};
use super::session::stored_credentials;
use super::view::{ProfileInfo, SignInForm, VariableInfo};
use super::TokenSource;
use crate::config::paths::Paths;
use crate::domain::{Server, Token};
use crate::link::auth::{self, KeyringError, TokenStore};
use crate::link::net::{Net, NetError};
use crate::link::probe::{self, ProbeOptions, ProbeReport};
use crate::link::session::Credentials;
use crate::link::{base, Target};
use crate::profile::{builtin_source, AuthMode, Profile};

/// Sign-in, tokens and profiles; cheap to clone.
#[derive(Clone)]
pub(super) struct Accounts {
    tokens: Arc<dyn TokenStore>,
    /// TLS and proxies (see [`super::EngineOptions::net`]).
    net: Result<Net, NetError>,
    config_dir: PathBuf,
    /// The department's directories, most important first.
    system_dirs: Vec<PathBuf>,
}

impl Accounts {
    pub(super) fn new(
        tokens: Arc<dyn TokenStore>,
        paths: &Paths,
        net: Result<Net, NetError>,
    ) -> Self {
        Self {
            tokens,
            net,
            config_dir: paths.config_dir.clone(),
            system_dirs: paths.system_dirs.clone(),
        }
    }

    /// The network for a form's server: with the form's certificate authority file, when it names one.
    fn net_for(&self, ca_file: Option<&PathBuf>) -> Result<Net, EngineError> {
        Ok(self
            .net
            .clone()?
            .with_optional_ca_file(ca_file.map(PathBuf::as_path))?)
    }

    fn profiles_dir(&self) -> PathBuf {
        self.config_dir.join(PROFILES_DIR)
    }

    /// The department's profile directories, most important first.
    fn department_dirs(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.system_dirs.iter().map(|d| d.join(PROFILES_DIR))
    }

    /// The profile a sign-in form may name: a built-in one, one imported before or one of the department's (a
    /// `.toml` file right in the imported profiles' directory or a department's, links resolved). Any other file
    /// on this machine is refused: the form comes from the web view, which must not get Alertdesk to read files
    /// of its choosing.
    fn offered_profile(&self, name: &str) -> Result<String, EngineError> {
        let name = name.trim();
        if builtin_source(name).is_some() {
            return Ok(name.to_string());
        }
        let file = Path::new(name).canonicalize().ok();
        let offered = file.is_some_and(|file| {
            file.extension().is_some_and(|e| e == "toml")
                && file.is_file()
                && std::iter::once(self.profiles_dir())
                    .chain(self.department_dirs())
                    .filter_map(|dir| dir.canonicalize().ok())
                    .any(|dir| file.parent() == Some(dir.as_path()))
        });
        if offered {
            Ok(name.to_string())
        } else {
            Err(EngineError::ProfileNotOffered {
                profile: name.to_string(),
            })
        }
    }

    /// The built-in profiles, the department's (a file name in a more important system directory hides the
    /// same name in a less important one), then the imported ones.
    pub(super) fn profiles(&self) -> Vec<ProfileInfo> {
        let mut out: Vec<ProfileInfo> = Profile::builtins()
            .iter()
            .map(|p| profile_info(p, &p.name, Origin::Builtin))
            .collect();
        let mut seen = Vec::new();
        for dir in self.department_dirs() {
            for path in profile_files(&dir) {
                if seen.contains(&path.file_name().map(ToOwned::to_owned)) {
                    continue;
                }
                seen.push(path.file_name().map(ToOwned::to_owned));
                let name = path.to_string_lossy().into_owned();
                match Profile::load(&name) {
                    Ok(profile) => out.push(profile_info(&profile, &name, Origin::Department)),
                    Err(e) => tracing::warn!("department profile ignored: {e}"),
                }
            }
        }
        for path in profile_files(&self.profiles_dir()) {
            let name = path.to_string_lossy().into_owned();
            match Profile::load(&name) {
                Ok(profile) => out.push(profile_info(&profile, &name, Origin::Imported)),
                Err(e) => tracing::warn!("imported profile ignored: {e}"),
            }
        }
        out
    }

    pub(super) fn import_profile(
        &self,
        file_name: &str,
        text: &str,
    ) -> Result<ProfileInfo, EngineError> {
        let profile = Profile::parse(text, file_name)?;
        // An override of a built-in keeps its name (and so its sign-in and history); anything else must not
        // take a built-in's name.
        let extends = toml::from_str::<toml::Table>(text)
            .ok()
            .and_then(|t| t.get("extends")?.as_str().map(str::to_string));
        if extends.as_deref() != Some(profile.name.as_str())
            && Profile::builtins().iter().any(|b| b.name == profile.name)
        {
            return Err(EngineError::BuiltinName {
                file: file_name.to_string(),
                name: profile.name,
            });
        }
        let dir = self.profiles_dir();
        std::fs::create_dir_all(&dir).map_err(|source| EngineError::Io {
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(format!("{}.toml", profile.name));
        std::fs::write(&path, text).map_err(|source| EngineError::Io {
            path: path.clone(),
            source,
        })?;
        tracing::info!(profile = %profile.name, "profile imported");
        Ok(profile_info(
            &profile,
            &path.to_string_lossy(),
            Origin::Imported,
        ))
    }

    /// Runs the sign-in form's login request and keeps the token; returns the server to save, its token, and why
    /// the sign-in will not be renewed or announced before it ends where the profile expects it to be.
    pub(super) async fn sign_in(
        &self,
        form: SignInForm,
        demo: bool,
    ) -> Result<(ServerEntry, TokenSource, Option<String>), EngineError> {
        let offered = self.offered_profile(&form.profile)?;
        let profile = Profile::load(&offered)?;
        let server = Server::parse(form.server.trim())?;
        let ca_file = form_ca_file(form.ca_file.as_deref())?;
        let net = self.net_for(ca_file.as_ref())?;
        let mut vars = form_vars(form.vars);
        let resolved = profile.resolve_variables(&vars)?;
        let mut unrenewable = None;
        let token = match &profile.auth.login {
            // A server that needs no sign-in until it asks: connect without one.
            Some(_) if form.username.trim().is_empty() && profile.auth.optional => {
                TokenSource::Without
            }
            Some(_) => {
                if form.username.trim().is_empty() {
                    return Err(EngineError::CredentialsNeeded {
                        profile: profile.name.clone(),
                    });
                }
                let password = Token::new(form.password);
                let signed_in = auth::login(
                    &net.http(),
                    &profile,
                    &server,
                    form.username.trim(),
                    &password,
                    &resolved,
                    Target::discovers_base(&profile, &vars),
                )
                .await?;
                if let Some(found) = signed_in.api_base {
                    // Where this server's API answered: kept with the server, so the link starts there.
                    vars.insert(base::VARIABLE.into(), found);
                }
                unrenewable = signed_in.unrenewable;
                let credentials = signed_in.credentials;
                self.keep(auth::account(&profile.name, &server), credentials.clone())
                    .await?;
                TokenSource::SignedIn(credentials)
            }
            None if profile.auth.mode == AuthMode::None || profile.auth.optional => {
                TokenSource::Without
            }
            None => {
                return Err(EngineError::NoLogin {
                    profile: profile.name.clone(),
                })
            }
        };
        let label = form
            .label
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| default_label(&profile, &server));
        tracing::info!(server = %server, profile = %profile.name, "signed in");
        let username = Some(form.username.trim().to_string()).filter(|u| !u.is_empty());
        let entry = ServerEntry {
            profile: offered,
            url: server.to_string(),
            label,
            vars,
            username,
            demo,
            ca_file,
        };
        Ok((entry, token, unrenewable))
    }

    /// "Test connection": the form's server probed against its profile for `watch` (signing in with the form's
    /// username and password when it has them, without keeping the token; else with the token kept, if any).
    pub(super) async fn probe(
        &self,
        form: SignInForm,
        watch: std::time::Duration,
    ) -> Result<ProbeReport, EngineError> {
        let name = self.offered_profile(&form.profile)?;
        let profile = Arc::new(Profile::load(&name)?);
        let server = Server::parse(form.server.trim())?;
        let net = self.net_for(form_ca_file(form.ca_file.as_deref())?.as_ref())?;
        let set = form_vars(form.vars);
        let resolved = profile.resolve_variables(&set)?;
        let token = if profile.auth.login.is_some() && !form.username.trim().is_empty() {
            let password = Token::new(form.password);
            let signed_in = auth::login(
                &net.http(),
                &profile,
                &server,
                form.username.trim(),
                &password,
                &resolved,
                Target::discovers_base(&profile, &set),
            )
            .await?;
            Some(signed_in.credentials.token)
        } else {
            stored_credentials(&self.tokens, &profile, &server)
                .await
                .map(|c| c.token)
        };
        let options = ProbeOptions {
            server,
            profile: Some((profile, name)),
            set,
            token,
            watch,
            heartbeat: crate::link::protocol::Heartbeat::default(),
            net,
        };
        Ok(probe::run(&options).await.report)
    }

    /// Keeps a sign-in's token and refresh token in the token store.
    async fn keep(&self, account: String, credentials: Credentials) -> Result<(), EngineError> {
        let tokens = Arc::clone(&self.tokens);
        tokio::task::spawn_blocking(move || auth::keep(tokens.as_ref(), &account, &credentials))
            .await
            .map_err(|e| KeyringError(e.to_string()))??;
        Ok(())
    }

    /// Removes a server's token and the refresh token kept next to it.
    pub(super) async fn forget_token(&self, account: String) -> Result<(), EngineError> {
        let tokens = Arc::clone(&self.tokens);
        tokio::task::spawn_blocking(move || auth::forget(tokens.as_ref(), &account))
            .await
            .map_err(|e| KeyringError(e.to_string()))??;
        Ok(())
    }
}

/// The entry of a server connected for this run only, checked before it is handed to the actor.
pub(super) fn scripted_entry(
    profile: &str,
    server: &str,
    vars: BTreeMap<String, String>,
) -> Result<ServerEntry, EngineError> {
    let loaded = Profile::load(profile)?;
    let server = Server::parse(server)?;
    loaded.resolve_variables(&vars)?;
    Ok(ServerEntry {
        profile: profile.to_string(),
        url: server.to_string(),
        label: default_label(&loaded, &server),
        vars,
        username: None,
        demo: false,
        ca_file: None,
    })
}

/// The form's certificate authority file: none when left empty; else a full path (the form has no folder to
/// resolve a relative one against), read when the network is made for it.
fn form_ca_file(text: Option<&str>) -> Result<Option<PathBuf>, EngineError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(text);
    if !path.is_absolute() {
        return Err(NetError::CaFile {
            path,
            reason: "give its full path (starting with /)".into(),
        }
        .into());
    }
    Ok(Some(path))
}

/// The variables the form gives: trimmed, empty ones left out (their defaults apply).
fn form_vars(vars: BTreeMap<String, String>) -> BTreeMap<String, String> {
    vars.into_iter()
        .map(|(k, v)| (k, v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// "profile · host:port".
pub(super) fn default_label(profile: &Profile, server: &Server) -> String {
    format!("{} · {}", profile.name, server.host_port())
}

/// The `.toml` files right in `dir`, sorted (none when it does not exist).
fn profile_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Where a profile the form offers comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Builtin,
    Department,
    Imported,
}

fn profile_info(profile: &Profile, name: &str, origin: Origin) -> ProfileInfo {
    ProfileInfo {
        name: name.to_string(),
        description: profile.description.clone(),
        builtin: origin == Origin::Builtin,
        managed: origin == Origin::Department,
        default_server: profile.default_server.clone(),
        variables: profile
            .variables
            .iter()
            .map(|(name, v)| VariableInfo {
                name: name.clone(),
                description: v.description.clone(),
                default: v.default.clone(),
                required: v.required,
            })
            .collect(),
        login: profile.auth.login.is_some(),
        sign_in_optional: profile.auth.mode == AuthMode::None || profile.auth.optional,
    }
}
