//! Checking a profile when it loads: every template parses, every variable it reads is declared, every part
//! fits the protocol, so a typo is an error with its place, not a blank title later.

use super::template::{self, Template};
use super::{AuthMode, Profile, Protocol, BUILTIN_VARIABLES};

/// Non-empty letters, digits, `-` or `_`.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Profile {
    /// A write-back request: its method, and that its templates parse and name only declared variables.
    fn check_call(
        &self,
        context: &str,
        method: &str,
        path: &Template,
        body: Option<&toml::Value>,
    ) -> Result<(), String> {
        if !["POST", "PUT", "PATCH"].contains(&method) {
            return Err(format!(
                "{context}.method {method:?} must be POST, PUT or PATCH"
            ));
        }
        self.check_template(path)
            .map_err(|e| format!("{context}.path: {e}"))?;
        check_rooted(&format!("{context}.path"), path)?;
        if let Some(body) = body {
            for t in templates_in(body).map_err(|e| format!("{context}.body: {e}"))? {
                self.check_template(&t)
                    .map_err(|e| format!("{context}.body: {e}"))?;
            }
        }
        Ok(())
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if !is_name(&self.name) {
            return Err(format!(
                "name {:?} must be non-empty letters, digits, - or _",
                self.name
            ));
        }
        if !self.ws_path().starts_with('/') {
            return Err(format!("path {:?} must start with /", self.ws_path()));
        }
        if !self.namespace.starts_with('/') {
            return Err(format!("namespace {:?} must start with /", self.namespace));
        }
        if self.protocol == Protocol::Websocket && self.namespace != "/" {
            return Err("namespace applies to protocol = \"socketio\" only".into());
        }
        if self.auth.mode == AuthMode::Socketio && self.protocol != Protocol::Socketio {
            return Err("auth.mode = \"socketio\" needs protocol = \"socketio\"".into());
        }
        for (i, emit) in self.connect.emit.iter().enumerate() {
            if self.protocol == Protocol::Socketio && emit.event.is_none() {
                return Err(format!(
                    "connect.emit[{i}]: Socket.IO emits need an event name"
                ));
            }
            if let Some(each) = &emit.each {
                let name = each.strip_prefix('$').unwrap_or(each);
                self.check_variable(name)
                    .map_err(|e| format!("connect.emit[{i}].each: {e}"))?;
            }
            if let Some(data) = &emit.data {
                for t in templates_in(data).map_err(|e| format!("connect.emit[{i}].data: {e}"))? {
                    self.check_template(&t)
                        .map_err(|e| format!("connect.emit[{i}].data: {e}"))?;
                }
            }
        }
        for (key, t) in &self.connect.query {
            self.check_template(t)
                .map_err(|e| format!("connect.query.{key}: {e}"))?;
        }
        self.check_rest_paths()?;
        self.check_login()?;
        for (i, rule) in self.rules.iter().enumerate() {
            rule.validate()
                .map_err(|e| format!("rules[{i}] (event {:?}): {e}", rule.event))?;
            for t in rule.templates() {
                self.check_template(t)
                    .map_err(|e| format!("rules[{i}] (event {:?}): {e}", rule.event))?;
            }
        }
        if let Some(ack) = &self.acknowledge {
            self.check_call("acknowledge", &ack.method, &ack.path, ack.body.as_ref())?;
        }
        self.check_responses()?;
        for (i, backfill) in self.backfill.iter().enumerate() {
            let context = |e: String| format!("backfill[{i}]: {e}");
            self.check_template(&backfill.path).map_err(context)?;
            for t in backfill.query.values() {
                self.check_template(t).map_err(context)?;
            }
            if let Some(message) = &backfill.message {
                templates_in(message).map_err(context)?;
            }
            for path in [
                Some(&backfill.items).filter(|s| !s.is_empty()),
                backfill.cursor.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                template::check_paths(path).map_err(context)?;
            }
        }
        if self.rules.is_empty() {
            return Err("a profile needs at least one [[rules]] entry".into());
        }
        Ok(())
    }

    /// `[auth.login]`: its body, the answer's paths, and `[auth.login.refresh]` with what it needs.
    fn check_login(&self) -> Result<(), String> {
        let Some(login) = &self.auth.login else {
            return Ok(());
        };
        templates_in(&login.body).map_err(|e| format!("auth.login.body: {e}"))?;
        let paths = [
            ("token", Some(&login.token)),
            ("refresh_token", login.refresh_token.as_ref()),
            ("expires_in", login.expires_in.as_ref()),
        ];
        for (key, path) in paths {
            if let Some(path) = path {
                template::check_paths(path).map_err(|e| format!("auth.login.{key}: {e}"))?;
            }
        }
        let Some(refresh) = &login.refresh else {
            return Ok(());
        };
        if login.refresh_token.is_none() {
            return Err("auth.login.refresh needs auth.login.refresh_token: the dot path of the refresh token \
                 in the login answer"
                .into());
        }
        self.check_call(
            "auth.login.refresh",
            &refresh.method,
            &refresh.path,
            Some(&refresh.body),
        )?;
        let paths = [
            ("token", refresh.token.as_ref()),
            ("refresh_token", refresh.refresh_token.as_ref()),
            ("expires_in", refresh.expires_in.as_ref()),
        ];
        for (key, path) in paths {
            if let Some(path) = path {
                template::check_paths(path)
                    .map_err(|e| format!("auth.login.refresh.{key}: {e}"))?;
            }
        }
        let uses_refresh_token = templates_in(&refresh.body)?
            .iter()
            .any(|t| t.variables().any(|v| v == "refresh_token"));
        if !uses_refresh_token {
            return Err(
                "auth.login.refresh.body must send the refresh token: put {{$refresh_token}} in it"
                    .into(),
            );
        }
        Ok(())
    }

    /// Each `[[responses]]` entry: a unique name, a label, and its call.
    fn check_responses(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for (i, response) in self.responses.iter().enumerate() {
            let context = format!("responses[{i}]");
            if !is_name(&response.name) || response.name == crate::store::outbox::ACKNOWLEDGE {
                return Err(format!(
                    "{context}: name {:?} must be letters, digits, - or _ (and not \"acknowledge\")",
                    response.name
                ));
            }
            if !names.insert(response.name.as_str()) {
                return Err(format!("{context}: name {:?} is used twice", response.name));
            }
            if response.label.trim().is_empty() {
                return Err(format!("{context}: label must not be empty"));
            }
            self.check_call(
                &context,
                &response.method,
                &response.path,
                response.body.as_ref(),
            )?;
        }
        Ok(())
    }

    /// Every REST path starts with one `/` (or `{{$api_base}}/`), and `$api_base`'s default is a path prefix
    /// (write-back paths are checked with their calls).
    fn check_rest_paths(&self) -> Result<(), String> {
        if let Some(prefix) = self
            .variables
            .get(template::PATH_PREFIX)
            .and_then(|v| v.default.as_deref())
        {
            template::check_path_prefix(prefix)
                .map_err(|e| format!("variables.{}.default {e}", template::PATH_PREFIX))?;
        }
        if let Some(login) = &self.auth.login {
            check_rooted("auth.login.path", &login.path)?;
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let Some(fetch) = &rule.fetch else { continue };
            for (key, path) in [("get", &fetch.get), ("list", &fetch.list)] {
                if let Some(path) = path {
                    check_rooted(&format!("rules[{i}].fetch.{key}"), path)?;
                }
            }
        }
        for (i, backfill) in self.backfill.iter().enumerate() {
            check_rooted(&format!("backfill[{i}].path"), &backfill.path)?;
        }
        Ok(())
    }

    fn check_template(&self, t: &Template) -> Result<(), String> {
        t.variables().try_for_each(|v| self.check_variable(v))
    }

    fn check_variable(&self, name: &str) -> Result<(), String> {
        if self.variables.contains_key(name) || BUILTIN_VARIABLES.contains(&name) {
            Ok(())
        } else {
            Err(format!(
                "unknown variable ${name}: declare it under [variables.{name}]"
            ))
        }
    }
}

/// A REST path template must start with one `/` (or `{{$api_base}}/`): it is a path on the server, never a
/// place elsewhere.
fn check_rooted(key: &str, path: &Template) -> Result<(), String> {
    if path.is_rooted_path() {
        Ok(())
    } else {
        Err(format!(
            "{key} {:?} must start with / (or {{{{$api_base}}}}/), not //: it is a path on the server",
            path.source()
        ))
    }
}

/// Every template among the string leaves of a TOML value.
pub(crate) fn templates_in(value: &toml::Value) -> Result<Vec<Template>, String> {
    let mut out = Vec::new();
    walk_strings(value, &mut |s| {
        out.push(Template::parse(s)?);
        Ok(())
    })?;
    Ok(out)
}

fn walk_strings(
    value: &toml::Value,
    f: &mut dyn FnMut(&str) -> Result<(), String>,
) -> Result<(), String> {
    match value {
        toml::Value::String(s) => f(s),
        toml::Value::Array(items) => items.iter().try_for_each(|v| walk_strings(v, f)),
        toml::Value::Table(t) => t.values().try_for_each(|v| walk_strings(v, f)),
        _ => Ok(()),
    }
}
