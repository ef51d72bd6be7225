//! Profiles: how to reach one kind of backend and turn its events into [`Alert`](crate::domain::Alert)s.
//!
//! A profile is a TOML file (documented in `docs/profiles.md`); six are built in: one per seed backend, and `demo`
//! for the built-in demo backend (`alertdesk demo`). Parsing is strict: an unknown key, a bad template or a wrong
//! type is an error naming the file, line and column.

pub mod extend;
pub mod fields;
pub mod login;
pub mod rules;
pub mod template;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

pub use fields::spellings;
pub use login::{Login, Refresh};
pub use rules::{Rule, RuleMatch};
pub use template::{Scope, Template};

/// Variables every profile has without declaring them.
pub const BUILTIN_VARIABLES: &[&str] = &[
    "event",
    "token",
    "refresh_token",
    "username",
    "password",
    "server",
    "item",
    "profile",
    "cursor",
    "unique",
];

/// A loaded profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name (`station-reports`); used in the keyring entry and the alert's `profile` field.
    pub name: String,
    /// One line for `alertdesk profile list`.
    #[serde(default)]
    pub description: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// WebSocket path on the server (`/ws`); Socket.IO defaults to `/socket.io/`.
    #[serde(default)]
    pub path: Option<String>,
    /// Socket.IO namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Server used when `--server` is not given.
    #[serde(default)]
    pub default_server: Option<String>,
    /// Variables the profile reads (`--set NAME=VALUE`).
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
    /// How to authenticate.
    #[serde(default)]
    pub auth: Auth,
    /// What to send when connecting.
    #[serde(default)]
    pub connect: Connect,
    /// Raw WebSocket messages: where the event name is.
    #[serde(default)]
    pub message: MessageShape,
    /// Event -> alert rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// REST lists that tell what was missed while the link was down (used after every reconnect, and for
    /// polling while the WebSocket cannot be established).
    #[serde(default)]
    pub backfill: Vec<Backfill>,
    /// How to tell the server an alert was acknowledged (write-back), if it offers a way.
    #[serde(default)]
    pub acknowledge: Option<Acknowledge>,
    /// The status responses the server accepts ("En route", "On scene"...), each with its request.
    #[serde(default)]
    pub responses: Vec<ResponseSpec>,
}

/// `[[responses]]`: a status response an officer can send about an alert, and the REST call that sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// What `alertdesk respond ID NAME` takes (`en_route`): letters, digits, `_` and `-`.
    pub name: String,
    /// What the window and the notification show ("En route").
    pub label: String,
    /// HTTP method: POST, PUT or PATCH.
    #[serde(default = "default_ack_method")]
    pub method: String,
    /// Path template over the alert's payload, as for `[acknowledge]`.
    pub path: Template,
    /// JSON body; string leaves are templates over the payload. Default: no body.
    #[serde(default)]
    pub body: Option<toml::Value>,
    /// Offered only for alerts of these kinds (empty: every alert).
    #[serde(default)]
    pub kinds: Vec<crate::domain::Kind>,
}

impl ResponseSpec {
    /// Whether it is offered for an alert of `kind`.
    pub fn offered_for(&self, kind: crate::domain::Kind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// The REST call of one response (the acknowledgement, or a `[[responses]]` entry).
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path template.
    pub path: &'a Template,
    /// Body template.
    pub body: Option<&'a toml::Value>,
}

/// `[acknowledge]`: the REST call that writes an acknowledgement back to the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledge {
    /// HTTP method: POST, PUT or PATCH.
    #[serde(default = "default_ack_method")]
    pub method: String,
    /// Path template over the alert's payload (its `data`), e.g. `/api/reports/{{report.id}}/acknowledge`.
    pub path: Template,
    /// JSON body; string leaves are templates over the payload. Default: no body.
    #[serde(default)]
    pub body: Option<toml::Value>,
}

fn default_ack_method() -> String {
    "POST".into()
}

/// `[[backfill]]`: a REST list whose records are classified like events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backfill {
    /// Path on the server (templates; `$cursor` is the stored cursor).
    pub path: Template,
    /// Query parameters; an entry whose template cannot render (no cursor yet) is left out.
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    /// Dot path of the array in the answer (empty: the answer itself, or its only array field).
    #[serde(default)]
    pub items: String,
    /// Dot path of a record's field that advances the cursor (the largest value seen is kept). Without it the
    /// list is compared with what is stored.
    #[serde(default)]
    pub cursor: Option<String>,
    /// The event name each record is classified as.
    pub event: String,
    /// The event payload built from a record (string leaves are templates over the record; `{{$record}}` is the
    /// whole record). Default: the record itself. The record is also `$record` for the rule.
    #[serde(default)]
    pub message: Option<toml::Value>,
    /// Poll this list every so many seconds while the WebSocket cannot be established (0: no polling).
    #[serde(default)]
    pub poll_interval_secs: u64,
    /// The live events whose news this list holds besides `event` (a list of current records covers their
    /// updates too). After an outage, events that no list covers may have been missed: a gap says which.
    #[serde(default)]
    pub covers: Vec<String>,
}

impl Backfill {
    /// Identifies the list among the profile's lists (its path and query as written), for its cursor.
    pub fn key(&self) -> String {
        let mut key = self.path.source().to_string();
        for (i, (name, value)) in self.query.iter().enumerate() {
            key.push(if i == 0 { '?' } else { '&' });
            key.push_str(name);
            key.push('=');
            key.push_str(value.source());
        }
        key
    }
}

/// The wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Engine.IO v4 / Socket.IO v5 over the websocket transport.
    Socketio,
    /// A plain WebSocket carrying JSON text messages.
    Websocket,
}

/// A declared variable.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What to put there.
    #[serde(default)]
    pub description: String,
    /// Used when not set.
    #[serde(default)]
    pub default: Option<String>,
    /// Listening fails with a clear error when a required variable has no value.
    #[serde(default)]
    pub required: bool,
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Where the token goes.
    pub mode: AuthMode,
    /// Query parameter name (`mode = "query"`).
    pub param: String,
    /// Header name (`mode = "header"`, and for REST calls).
    pub header: String,
    /// Header value (`mode = "header"`, and for REST calls).
    pub value: Template,
    /// Key in the Socket.IO `auth` payload (`mode = "socketio"`).
    pub field: String,
    /// Connect without a token when none is stored (backends whose socket is open).
    pub optional: bool,
    /// The request that exchanges a username and password for a token (`alertdesk login`).
    pub login: Option<Login>,
}

/// Where the token goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No token.
    #[default]
    None,
    /// `?param=TOKEN` on the WebSocket URL (only where the backend demands it).
    Query,
    /// A header on the WebSocket upgrade.
    Header,
    /// The Socket.IO CONNECT `auth` payload.
    Socketio,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            mode: AuthMode::None,
            param: "token".into(),
            header: "Authorization".into(),
            value: Template::parse("Bearer {{$token}}").expect("valid default"),
            field: "token".into(),
            optional: false,
            login: None,
        }
    }
}

/// `[connect]`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Connect {
    /// Extra query parameters on the WebSocket URL (templates).
    pub query: BTreeMap<String, Template>,
    /// Events to emit once connected, in order.
    pub emit: Vec<Emit>,
}

/// One event sent after connecting (join a room, register a user id).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emit {
    /// Socket.IO event name, or for raw WebSockets the message is `data` alone.
    #[serde(default)]
    pub event: Option<String>,
    /// The argument; string leaves are templates.
    #[serde(default)]
    pub data: Option<toml::Value>,
    /// Emit once per comma-separated item of this variable (`$item` in `data`).
    #[serde(default)]
    pub each: Option<String>,
    /// Skip silently when a variable it uses is not set (instead of failing).
    #[serde(default)]
    pub optional: bool,
    /// Ask the server for an acknowledgement (Socket.IO).
    #[serde(default)]
    pub ack: bool,
}

/// `[message]`: raw WebSocket messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessageShape {
    /// Template giving the event name from the message, e.g. `{{type}}`.
    pub event: Template,
}

impl Default for MessageShape {
    fn default() -> Self {
        Self {
            event: Template::parse("{{type | message}}").expect("valid default"),
        }
    }
}

fn default_namespace() -> String {
    "/".into()
}

/// A profile that failed to load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ProfileError {
    /// The file (or `builtin:NAME`).
    pub origin: String,
    /// What is wrong, with line and column where known.
    pub message: String,
}

/// Variables given that the profile does not have, or required ones not given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableError {
    /// The profile has no such variable.
    #[error("profile {profile} has no variable {name:?} (it has: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    Unknown {
        /// The profile.
        profile: String,
        /// The variable given.
        name: String,
        /// The variables it has.
        known: Vec<String>,
    },
    /// Required variables without a value.
    #[error("profile {profile} needs a value for: {}", missing.iter().map(|(n, d)| format!("{n} ({d})")).collect::<Vec<_>>().join(", "))]
    Missing {
        /// The profile.
        profile: String,
        /// Each missing variable and its description.
        missing: Vec<(String, String)>,
    },
    /// A value that cannot be used (`api_base` that is not a path prefix).
    #[error("profile {profile}: variable {name} {reason}")]
    Invalid {
        /// The profile.
        profile: String,
        /// The variable.
        name: String,
        /// What is wrong with its value.
        reason: String,
    },
}

/// The built-in profiles, embedded in the binary.
const BUILTIN: &[(&str, &str)] = &[
    ("demo", include_str!("../../profiles/demo.toml")),
    (
        "emergency-dispatch",
        include_str!("../../profiles/emergency-dispatch.toml"),
    ),
    (
        "service-calls",
        include_str!("../../profiles/service-calls.toml"),
    ),
    (
        "station-reports",
        include_str!("../../profiles/station-reports.toml"),
    ),
    (
        "crowd-monitoring",
        include_str!("../../profiles/crowd-monitoring.toml"),
    ),
    ("ticketing", include_str!("../../profiles/ticketing.toml")),
];

/// The TOML of a built-in profile.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

impl Profile {
    /// Parses profile text; `origin` names it in errors. A profile that `extends` another is merged with it
    /// first (see [`extend`]).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ProfileError> {
        let err = |message: String| ProfileError {
            origin: origin.to_string(),
            message,
        };
        let (merged, extended) = extend::resolve(text, origin)?;
        let profile: Self = if extended {
            Self::deserialize(toml::Value::Table(merged))
                .map_err(|e| err(format!("with what it extends: {e}")))?
        } else {
            toml::from_str(text)
                .map_err(|e| err(crate::config::settings::describe_toml_error(text, &e)))?
        };
        profile.validate().map_err(err)?;
        Ok(profile)
    }

    /// A profile's TOML as a table, merged with what it extends (to write an override of it).
    pub fn source_table(name_or_file: &str) -> Result<toml::Table, ProfileError> {
        let (text, origin) = match builtin_source(name_or_file) {
            Some(text) => (text.to_string(), format!("builtin:{name_or_file}")),
            None => (
                std::fs::read_to_string(name_or_file).map_err(|e| ProfileError {
                    origin: name_or_file.to_string(),
                    message: e.to_string(),
                })?,
                name_or_file.to_string(),
            ),
        };
        extend::resolve(&text, &origin).map(|(table, _)| table)
    }

    /// The TOML a profile amounts to: a built-in's text, a file's, or, for a file that `extends` another, the
    /// two merged (what `alertdesk profile show` prints).
    pub fn merged_text(name_or_file: &str) -> Result<String, ProfileError> {
        if let Some(text) = builtin_source(name_or_file) {
            return Ok(text.to_string());
        }
        let text = std::fs::read_to_string(name_or_file).map_err(|e| ProfileError {
            origin: name_or_file.to_string(),
            message: e.to_string(),
        })?;
        let (merged, extended) = extend::resolve(&text, name_or_file)?;
        if !extended {
            return Ok(text);
        }
        // Checked as the app would load it, so what is printed is what runs.
        Self::parse(&text, name_or_file)?;
        let body = toml::to_string_pretty(&merged).map_err(|e| ProfileError {
            origin: name_or_file.to_string(),
            message: e.to_string(),
        })?;
        Ok(format!(
            "# {name_or_file} merged with the profile it extends\n\n{body}"
        ))
    }

    /// The live events that become alerts and that no `[[backfill]]` list covers (see [`Backfill::covers`]),
    /// in rule order; `*` stands for events no rule names. Empty: a catch-up after an outage misses nothing.
    pub fn uncovered_events(&self) -> Vec<String> {
        let covered: std::collections::BTreeSet<&str> = self
            .backfill
            .iter()
            .flat_map(|b| {
                std::iter::once(b.event.as_str()).chain(b.covers.iter().map(String::as_str))
            })
            .collect();
        let mut out: Vec<String> = Vec::new();
        for rule in self.rules.iter().filter(|r| !r.ignore) {
            for event in rule.event.names() {
                if !covered.contains(event) && !out.iter().any(|e| e == event) {
                    out.push(event.to_string());
                }
            }
        }
        out
    }

    /// The request that sends response `name` (`acknowledge`, or a `[[responses]]` name), if the profile has one.
    pub fn call(&self, name: &str) -> Option<Call<'_>> {
        if name == crate::store::outbox::ACKNOWLEDGE {
            return self.acknowledge.as_ref().map(|a| Call {
                method: &a.method,
                path: &a.path,
                body: a.body.as_ref(),
            });
        }
        self.responses
            .iter()
            .find(|r| r.name == name)
            .map(|r| Call {
                method: &r.method,
                path: &r.path,
                body: r.body.as_ref(),
            })
    }

    /// A built-in profile by name, or a profile file by path.
    pub fn load(name_or_file: &str) -> Result<Self, ProfileError> {
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_file) {
            return Self::parse(text, &format!("builtin:{name}"));
        }
        let path = Path::new(name_or_file);
        if !path.exists() && !name_or_file.contains(['/', '.']) {
            let names: Vec<_> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(ProfileError {
                origin: name_or_file.to_string(),
                message: format!(
                    "no such built-in profile or file (built-in: {})",
                    names.join(", ")
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            origin: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Every built-in profile.
    pub fn builtins() -> Vec<Self> {
        BUILTIN
            .iter()
            .map(|(name, text)| Self::parse(text, &format!("builtin:{name}")).expect("valid"))
            .collect()
    }

    /// The WebSocket path on the server.
    pub fn ws_path(&self) -> &str {
        match (&self.path, self.protocol) {
            (Some(p), _) => p,
            (None, Protocol::Socketio) => "/socket.io/",
            (None, Protocol::Websocket) => "/",
        }
    }

    /// Resolves variable values: the given ones, then defaults; fails naming every required one missing.
    pub fn resolve_variables(
        &self,
        set: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, VariableError> {
        if let Some(unknown) = set.keys().find(|k| !self.variables.contains_key(*k)) {
            return Err(VariableError::Unknown {
                profile: self.name.clone(),
                name: unknown.clone(),
                known: self.variables.keys().cloned().collect(),
            });
        }
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, var) in &self.variables {
            match set.get(name).or(var.default.as_ref()) {
                Some(v) => {
                    values.insert(name.clone(), v.clone());
                }
                None if var.required => missing.push((name.clone(), var.description.clone())),
                None => {}
            }
        }
        if !missing.is_empty() {
            return Err(VariableError::Missing {
                profile: self.name.clone(),
                missing,
            });
        }
        if let Some(prefix) = values.get(template::PATH_PREFIX) {
            template::check_path_prefix(prefix).map_err(|reason| VariableError::Invalid {
                profile: self.name.clone(),
                name: template::PATH_PREFIX.to_string(),
                reason,
            })?;
        }
        values.insert("profile".into(), self.name.clone());
        Ok(values)
    }
}

/// Renders a TOML value with templated string leaves into JSON.
pub fn render_value(value: &toml::Value, scope: &Scope<'_>) -> Result<Value, template::Missing> {
    Ok(match value {
        toml::Value::String(s) => Template::parse(s)
            .expect("validated at load")
            .render_value(scope)?,
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, scope))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, scope)?)))
                .collect::<Result<_, template::Missing>>()?,
        ),
    })
}

#[cfg(test)]
mod tests;
