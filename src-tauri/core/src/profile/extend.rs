//! Overrides without copying: a profile that says `extends = "service-calls"` (a built-in name, or a profile file
//! beside it) changes only what it states.
//!
//! - Plain keys (`description`, `path`, `protocol`, ...) replace the base's.
//! - `[variables]`, `[auth]` (with `[auth.login]`), `[connect]`, `[message]` and `[acknowledge]` merge key by key:
//!   `[variables.api_base] default = "/v2"` changes that default and nothing else.
//! - `[[rules]]` are tried before the base's (the first match wins), so a rule for one event replaces the base's
//!   handling of that event; `replace_rules = true` drops the base's rules.
//! - `[[backfill]]` and `[[responses]]`, when given, replace the base's.
//! - `name` defaults to the base's, so the override keeps the base's sign-in and history on a server.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

use super::{
    builtin_source, Acknowledge, Backfill, Connect, MessageShape, ProfileError, Protocol,
    ResponseSpec, Rule, Variable,
};

/// How deep `extends` may chain.
const MAX_DEPTH: usize = 4;

/// An override as written: every key optional, every unknown key an error with its line.
#[allow(dead_code)] // read only to check the override's own text; the merged table is what is used
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Overlay {
    extends: String,
    replace_rules: Option<bool>,
    name: Option<String>,
    description: Option<String>,
    protocol: Option<Protocol>,
    path: Option<String>,
    namespace: Option<String>,
    default_server: Option<String>,
    variables: Option<std::collections::BTreeMap<String, Variable>>,
    // Merged key by key, so an override may state part of `[auth.login]` (its `refresh`, say): checked once
    // merged, where an unknown key is still named.
    auth: Option<toml::Table>,
    connect: Option<Connect>,
    message: Option<MessageShape>,
    rules: Option<Vec<Rule>>,
    backfill: Option<Vec<Backfill>>,
    acknowledge: Option<Acknowledge>,
    responses: Option<Vec<ResponseSpec>>,
}

/// The profile `text` (from `origin`) with what it extends merged in, as one table without `extends`, and
/// whether it extended anything (a profile that does not comes back as it is).
pub(super) fn resolve(text: &str, origin: &str) -> Result<(Table, bool), ProfileError> {
    let table = resolve_at(text, origin, 0)?;
    let extended = toml::from_str::<Table>(text).is_ok_and(|t| t.contains_key("extends"));
    Ok((table, extended))
}

fn resolve_at(text: &str, origin: &str, depth: usize) -> Result<Table, ProfileError> {
    let err = |message: String| ProfileError {
        origin: origin.to_string(),
        message,
    };
    let table: Table = toml::from_str(text)
        .map_err(|e| err(crate::config::settings::describe_toml_error(text, &e)))?;
    let Some(base_name) = table.get("extends") else {
        return Ok(table);
    };
    let Some(base_name) = base_name.as_str().map(str::to_string) else {
        return Err(err("extends must be a profile name or file".into()));
    };
    // The override's own text, checked key by key with line numbers before anything is merged.
    toml::from_str::<Overlay>(text)
        .map_err(|e| err(crate::config::settings::describe_toml_error(text, &e)))?;
    if depth >= MAX_DEPTH {
        return Err(err(format!(
            "extends chains more than {MAX_DEPTH} profiles deep (a loop?)"
        )));
    }
    let (base_text, base_origin) = base_source(&base_name, origin).map_err(err)?;
    let base = resolve_at(&base_text, &base_origin, depth + 1)?;
    Ok(merge(base, table))
}

/// The text of the profile an override extends: a built-in, or a file (relative to the override's folder).
fn base_source(name: &str, origin: &str) -> Result<(String, String), String> {
    if let Some(text) = builtin_source(name) {
        return Ok((text.to_string(), format!("builtin:{name}")));
    }
    let path = Path::new(name);
    let path: PathBuf = if path.is_absolute() {
        path.into()
    } else {
        Path::new(origin)
            .parent()
            .filter(|_| !origin.starts_with("builtin:"))
            .unwrap_or_else(|| Path::new(""))
            .join(path)
    };
    std::fs::read_to_string(&path)
        .map(|text| (text, path.display().to_string()))
        .map_err(|e| {
            format!(
                "extends {name:?}: no built-in profile of that name, and {}: {e}",
                path.display()
            )
        })
}

/// The override's keys over the base's (see the module docs).
fn merge(mut base: Table, overlay: Table) -> Table {
    let replace_rules = overlay
        .get("replace_rules")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for (key, value) in overlay {
        match key.as_str() {
            "extends" | "replace_rules" => {}
            "rules" => {
                let mut rules = value.as_array().cloned().unwrap_or_default();
                if !replace_rules {
                    if let Some(Value::Array(old)) = base.remove("rules") {
                        rules.extend(old);
                    }
                }
                base.insert(key, Value::Array(rules));
            }
            "variables" | "auth" | "connect" | "message" | "acknowledge" => {
                let merged = match (base.remove(&key), value) {
                    (Some(Value::Table(old)), Value::Table(new)) => {
                        Value::Table(deep_merge(old, new))
                    }
                    (_, new) => new,
                };
                base.insert(key, merged);
            }
            _ => {
                base.insert(key, value);
            }
        }
    }
    base
}

/// Tables merge key by key, all the way down; anything else is replaced.
fn deep_merge(mut base: Table, overlay: Table) -> Table {
    for (key, value) in overlay {
        let merged = match (base.remove(&key), value) {
            (Some(Value::Table(old)), Value::Table(new)) => Value::Table(deep_merge(old, new)),
            (_, new) => new,
        };
        base.insert(key, merged);
    }
    base
}

#[cfg(test)]
mod tests {
    use crate::profile::Profile;

    #[test]
    fn an_override_changes_only_what_it_states() {
        let text = r#"
extends = "service-calls"
description = "Service calls at City Hall (text in `issue`)"

[variables.api_base]
default = "/v2"

[[rules]]
event = "call_created"
kind = "report"
id = "call-{{ref}}"
title = "Call: {{issue}}"
"#;
        let profile = Profile::parse(text, "city-hall.toml").unwrap();
        let base = Profile::load("service-calls").unwrap();
        assert_eq!(
            profile.name, "service-calls",
            "the base's name: same token, same history"
        );
        assert_eq!(
            profile.variables["api_base"].default.as_deref(),
            Some("/v2")
        );
        assert_eq!(
            profile.variables["api_base"].description, base.variables["api_base"].description,
            "merged key by key"
        );
        assert_eq!(profile.rules.len(), base.rules.len() + 1, "tried first");
        assert_eq!(
            profile.rules[0].title.as_ref().unwrap().source(),
            "Call: {{issue}}"
        );
        assert_eq!(profile.backfill.len(), base.backfill.len());
        assert!(profile.auth.optional, "the base's auth, untouched");
    }

    #[test]
    fn an_override_can_replace_rules_and_lists_and_chain() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.toml");
        std::fs::write(
            &first,
            r#"
extends = "ticketing"
name = "tickets-v2"
replace_rules = true
[[rules]]
event = "*"
kind = "info"
id = "{{id}}"
[[backfill]]
path = "/v2/tickets"
items = "data"
event = "ticket"
"#,
        )
        .unwrap();
        let second = dir.path().join("second.toml");
        std::fs::write(
            &second,
            "extends = \"first.toml\"\ndescription = \"second\"\n",
        )
        .unwrap();
        let profile = Profile::load(second.to_str().unwrap()).unwrap();
        assert_eq!(profile.name, "tickets-v2");
        assert_eq!(profile.description, "second");
        assert_eq!(profile.rules.len(), 1);
        assert_eq!(profile.backfill.len(), 1);
        assert_eq!(profile.backfill[0].items, "data");
    }

    #[test]
    fn a_bad_override_says_where() {
        let err =
            Profile::parse("extends = \"service-calls\"\ntitel = \"x\"\n", "o.toml").unwrap_err();
        assert!(err.message.contains("line 2"), "{err}");
        let err = Profile::parse("extends = \"nope\"\n", "o.toml").unwrap_err();
        assert!(err.message.contains("no built-in profile"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let looped = dir.path().join("loop.toml");
        std::fs::write(&looped, "extends = \"loop.toml\"\n").unwrap();
        let err = Profile::load(looped.to_str().unwrap()).unwrap_err();
        assert!(err.message.contains("deep"), "{err}");
    }
}
