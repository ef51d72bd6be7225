//! `{{ ... }}` templates used by profiles for titles, ids, URLs, queries and emitted data.
//!
//! Inside the braces:
//! - `report.id`, `items.0.name`: a field of the event payload (dot path; numbers index arrays);
//! - `$user_id`: a profile variable (`--set user_id=...`); `$event` is the event name, `$token` the token
//!   (only where the profile sends it);
//! - `$record.title`: a field of the record fetched over REST (profiles with `fetch`);
//! - `a.b || c.d`: the first of several fields that is present (servers differ in field names);
//! - `path | fallback`: text to use when the field is missing or null.
//!
//! Templates are parsed when the profile loads, so a typo is an error with its line, not a blank title later.
//!
//! REST paths render with [`Template::render_path`]: every value is percent-encoded, so a record id `../admin`
//! or `a/b?x` stays one path segment; only `$api_base` (a path prefix from the profile or discovery, never from
//! server data) goes in as it is, once checked ([`check_path_prefix`]).

use std::collections::BTreeMap;
use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

/// The variable that is a path prefix (`/api/v1`, or empty): inserted into paths as it is, not encoded.
pub const PATH_PREFIX: &str = "api_base";

/// What a value keeps as it is in a path: letters, digits and `-` `.` `_` `~` (RFC 3986 "unreserved").
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a REST path did not render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A field the path needs is missing.
    #[error(transparent)]
    Missing(#[from] Missing),
    /// `$api_base` is not a path prefix.
    #[error("${PATH_PREFIX} {0}")]
    Prefix(String),
}

/// Checks a path prefix (`$api_base`): empty, or a path that starts with `/` and has no query, fragment,
/// backslash, control character or `.`/`..` segment. The error says what is wrong, after the value.
pub fn check_path_prefix(value: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("is {value:?}; {why}"));
    if value.is_empty() {
        return Ok(());
    }
    if !value.starts_with('/') {
        return bad("it must be empty or a path starting with / (like /api/v1)");
    }
    if value.contains(['?', '#', '\\']) || value.chars().any(char::is_control) {
        return bad("a path prefix holds no ?, #, \\ or control characters");
    }
    if value.split('/').any(is_dot_segment) {
        return bad("a path prefix holds no . or .. segments");
    }
    Ok(())
}

/// Whether a path segment means "this" or "the parent" to a URL parser (`.`, `..`, `%2e`, `.%2E`...).
pub fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase().replace("%2e", ".");
    lower == "." || lower == ".."
}

/// A parsed template.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field {
        paths: Vec<FieldPath>,
        fallback: Option<String>,
    },
}

/// Where a template field reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    root: Root,
    segments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Root {
    Payload,
    Var(String),
    Record,
}

/// What a template reads when it renders.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The event payload.
    pub payload: &'a Value,
    /// Profile variables plus `event` (and `token` where allowed).
    pub vars: &'a BTreeMap<String, String>,
    /// The record fetched over REST, if any.
    pub record: Option<&'a Value>,
}

/// The payload of a scope that has none.
static NO_PAYLOAD: Value = Value::Null;

impl<'a> Scope<'a> {
    /// Variables only, no payload or record: for URLs, query values, login bodies and emitted data.
    pub fn of_vars(vars: &'a BTreeMap<String, String>) -> Self {
        Self {
            payload: &NO_PAYLOAD,
            vars,
            record: None,
        }
    }
}

/// Checks a field path that may name alternatives (`access_token || token`).
pub fn check_paths(paths: &str) -> Result<(), String> {
    paths
        .split("||")
        .try_for_each(|p| FieldPath::payload(p.trim()).map(|_| ()))
}

/// The first of the alternatives in `paths` (`a.b || c`) that `value` has, not null.
pub fn select_first<'v>(value: &'v Value, paths: &str) -> Option<&'v Value> {
    paths.split("||").find_map(|path| {
        let segments: Vec<String> = path.trim().split('.').map(str::to_string).collect();
        select(value, &segments).filter(|v| !v.is_null())
    })
}

/// A template rendered whatever was missing, and what was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The text.
    pub text: String,
    /// Fields (as written, `a || b`) with no value and no fallback: `fill` stood in for them.
    pub missing: Vec<String>,
    /// Fields with no value that took their `| fallback`.
    pub fell_back: Vec<String>,
    /// How many fields had a value.
    pub found: usize,
}

/// A field a template needs is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is missing")]
pub struct Missing {
    /// The field as written in the template.
    pub field: String,
}

impl Template {
    /// Parses template text.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unclosed {{{{ in template {source:?}"))?;
            let inner = &after[..end];
            if inner.contains("{{") {
                return Err(format!("nested {{{{ in template {source:?}"));
            }
            let (fields, fallback) = split_fallback(inner);
            let fallback = fallback.map(|f| f.trim().to_string());
            let paths = fields
                .split("||")
                .map(|f| FieldPath::parse(f.trim()).map_err(|e| format!("{e} in {source:?}")))
                .collect::<Result<Vec<_>, _>>()?;
            parts.push(Part::Field { paths, fallback });
            rest = &after[end + 2..];
        }
        if rest.contains("}}") {
            return Err(format!("stray }}}} in template {source:?}"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Self {
            source: source.to_string(),
            parts,
        })
    }

    /// The template text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template has no fields (plain text).
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The variables (`$name`) the template reads.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Field { paths, .. } => Some(paths.iter().filter_map(|p| match &p.root {
                    Root::Var(name) => Some(name.as_str()),
                    _ => None,
                })),
                Part::Text(_) => None,
            })
            .flatten()
    }

    /// Renders with `scope`; a missing field without fallback is an error.
    pub fn render(&self, scope: &Scope<'_>) -> Result<String, Missing> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field { paths, fallback } => match paths.iter().find_map(|p| p.lookup(scope))
                {
                    Some(v) => out.push_str(&v),
                    None => match fallback {
                        Some(f) => out.push_str(f),
                        None => return Err(missing(paths)),
                    },
                },
            }
        }
        Ok(out)
    }

    /// Renders a REST path with `scope`: as [`Template::render`], but every value is percent-encoded (it stays
    /// within its path segment) except `$api_base`, which is checked to be a path prefix and goes in as it is.
    /// Fallback text is the profile's own and goes in as written.
    pub fn render_path(&self, scope: &Scope<'_>) -> Result<String, PathError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field { paths, fallback } => {
                    match paths.iter().find_map(|p| p.lookup(scope).map(|v| (p, v))) {
                        Some((path, prefix)) if path.is_var(PATH_PREFIX) => {
                            check_path_prefix(&prefix).map_err(PathError::Prefix)?;
                            out.push_str(&prefix);
                        }
                        Some((_, value)) => out.extend(utf8_percent_encode(&value, PATH_VALUE)),
                        None => match fallback {
                            Some(f) => out.push_str(f),
                            None => return Err(missing(paths).into()),
                        },
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether every rendering of this path template starts with one `/` (not `//`, which reads as another
    /// host): its text does, or it starts with `{{$api_base}}` (empty or a path starting with `/`) followed by
    /// text that does.
    pub fn is_rooted_path(&self) -> bool {
        let rooted = |t: &str| t.starts_with('/') && !t.starts_with("//");
        let mut parts = self.parts.iter();
        match parts.next() {
            Some(Part::Text(t)) => rooted(t),
            Some(Part::Field {
                paths,
                fallback: None,
            }) if matches!(paths.as_slice(), [p] if p.is_var(PATH_PREFIX)) => {
                matches!(parts.next(), Some(Part::Text(t)) if rooted(t))
            }
            _ => false,
        }
    }

    /// Renders with `scope`, never failing: a field with no value and no fallback becomes what `fill` gives
    /// (a summary of the record, say); with `fill_first`, so does a field that has a fallback, as long as `fill`
    /// gives something. Says which fields had no value and which took their fallback.
    pub fn render_filling(
        &self,
        scope: &Scope<'_>,
        fill: &mut dyn FnMut() -> String,
        fill_first: bool,
    ) -> Rendered {
        let mut out = Rendered::default();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.text.push_str(t),
                Part::Field { paths, fallback } => {
                    if let Some(v) = paths.iter().find_map(|p| p.lookup(scope)) {
                        out.text.push_str(&v);
                        out.found += 1;
                        continue;
                    }
                    let field = missing(paths).field;
                    let filled = if fallback.is_none() || fill_first {
                        fill()
                    } else {
                        String::new()
                    };
                    match fallback {
                        Some(f) if filled.is_empty() => {
                            out.text.push_str(f);
                            out.fell_back.push(field);
                        }
                        _ => {
                            out.text.push_str(&filled);
                            out.missing.push(field);
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether any field this template names is in `scope`, even as null (the record states it, maybe as
    /// "nobody"): a variable alone does not count.
    pub fn present(&self, scope: &Scope<'_>) -> bool {
        self.parts.iter().any(|part| match part {
            Part::Field { paths, .. } => paths
                .iter()
                .any(|p| !matches!(p.root, Root::Var(_)) && p.lookup_value(scope).is_some()),
            Part::Text(_) => false,
        })
    }

    /// Renders; a template that is exactly one field keeps the field's JSON type (numbers stay numbers).
    pub fn render_value(&self, scope: &Scope<'_>) -> Result<Value, Missing> {
        if let [Part::Field { paths, fallback }] = self.parts.as_slice() {
            return match paths
                .iter()
                .find_map(|p| p.lookup_value(scope).filter(|v| !v.is_null()))
            {
                Some(v) => Ok(v),
                None => fallback
                    .clone()
                    .map(Value::String)
                    .ok_or_else(|| missing(paths)),
            };
        }
        self.render(scope).map(Value::String)
    }
}

/// Splits the inside of `{{ fields | fallback }}` on the first single `|` (a `||` separates alternatives), as
/// written (untrimmed).
pub(crate) fn split_fallback(inner: &str) -> (&str, Option<&str>) {
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'|' {
            if bytes.get(i + 1) == Some(&b'|') {
                i += 2;
                continue;
            }
            return (&inner[..i], Some(&inner[i + 1..]));
        }
        i += 1;
    }
    (inner, None)
}

fn missing(paths: &[FieldPath]) -> Missing {
    Missing {
        field: paths
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" || "),
    }
}

impl FieldPath {
    fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("empty {{ }}".into());
        }
        let (root, path) = match text.strip_prefix('$') {
            Some(rest) => {
                let (name, tail) = rest
                    .split_once('.')
                    .map_or((rest, None), |(n, t)| (n, Some(t)));
                let root = if name == "record" {
                    Root::Record
                } else {
                    Root::Var(name.to_string())
                };
                if matches!(root, Root::Var(_)) && tail.is_some() {
                    return Err(format!("variables have no fields: {text:?}"));
                }
                (root, tail.unwrap_or(""))
            }
            None => (Root::Payload, text),
        };
        let segments: Vec<String> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('.').map(str::to_string).collect()
        };
        let valid =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "_-:@".contains(c));
        if let Root::Var(name) = &root {
            if !valid(name) {
                return Err(format!("bad variable name {text:?}"));
            }
        }
        if let Some(bad) = segments.iter().find(|s| !valid(s)) {
            return Err(format!("bad field name {bad:?} in {text:?}"));
        }
        Ok(Self { root, segments })
    }

    /// Whether this is the variable `$name`.
    fn is_var(&self, name: &str) -> bool {
        matches!(&self.root, Root::Var(v) if v == name)
    }

    /// Parses a bare dot path of the payload (as used in `when` conditions and JSON paths).
    pub fn payload(path: &str) -> Result<Self, String> {
        if path.starts_with('$') {
            return Err(format!("expected a payload field, not {path:?}"));
        }
        Self::parse(path)
    }

    fn lookup_value(&self, scope: &Scope<'_>) -> Option<Value> {
        let base = match &self.root {
            Root::Payload => scope.payload,
            Root::Record => scope.record?,
            Root::Var(name) => return scope.vars.get(name).map(|v| Value::String(v.clone())),
        };
        select(base, &self.segments).cloned()
    }

    /// The field as text: strings as they are, numbers and booleans printed, objects as JSON; null is missing.
    pub fn lookup(&self, scope: &Scope<'_>) -> Option<String> {
        match self.lookup_value(scope)? {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }

    /// The value at this path in `value` (payload paths only).
    pub fn select<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        select(value, &self.segments)
    }
}

/// Follows a dot path through objects and arrays.
pub fn select<'v>(mut value: &'v Value, segments: &[String]) -> Option<&'v Value> {
    for seg in segments {
        value = match value {
            Value::Object(map) => map.get(seg)?,
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            Root::Payload => f.write_str(&self.segments.join(".")),
            Root::Var(name) => write!(f, "${name}"),
            Root::Record if self.segments.is_empty() => f.write_str("$record"),
            Root::Record => write!(f, "$record.{}", self.segments.join(".")),
        }
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Template({:?})", self.source)
    }
}

impl TryFrom<String> for Template {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope<'a>(
        payload: &'a Value,
        vars: &'a BTreeMap<String, String>,
        record: Option<&'a Value>,
    ) -> Scope<'a> {
        Scope {
            payload,
            vars,
            record,
        }
    }

    #[test]
    fn renders_payload_vars_and_record() {
        let payload = json!({"report": {"id": 7, "category": "Burglary", "tags": ["a", "b"]}});
        let vars = BTreeMap::from([("user_id".to_string(), "u-1".to_string())]);
        let record = json!({"title": "Printer down"});
        let s = scope(&payload, &vars, Some(&record));
        let t = Template::parse(
            "{{report.category}} #{{ report.id }} {{report.tags.1}} {{$user_id}} {{$record.title}}",
        )
        .unwrap();
        assert_eq!(t.render(&s).unwrap(), "Burglary #7 b u-1 Printer down");
        assert_eq!(
            Template::parse("{{report.id}}")
                .unwrap()
                .render_value(&s)
                .unwrap(),
            json!(7)
        );
    }

    #[test]
    fn missing_fields_error_or_fall_back() {
        let payload = json!({"a": null});
        let vars = BTreeMap::new();
        let s = scope(&payload, &vars, None);
        let err = Template::parse("x {{a}}").unwrap().render(&s).unwrap_err();
        assert_eq!(err.field, "a");
        assert_eq!(
            Template::parse("{{a | none}}").unwrap().render(&s).unwrap(),
            "none"
        );
        assert!(Template::parse("{{$record.title}}")
            .unwrap()
            .render(&s)
            .is_err());
        assert!(Template::parse("{{$nope}}").unwrap().render(&s).is_err());
    }

    #[test]
    fn bad_templates_are_rejected() {
        for bad in [
            "{{",
            "{{a",
            "a}}",
            "{{}}",
            "{{ a b }}",
            "{{$x.y}}",
            "{{ {{a}} }}",
            "{{a..b}}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Template::parse("plain").unwrap().is_literal());
    }

    #[test]
    fn alternatives_take_the_first_present_field() {
        let payload = json!({"event": "new_report", "data": {"id": 3}});
        let vars = BTreeMap::new();
        let s = scope(&payload, &vars, None);
        assert_eq!(
            Template::parse("{{type || event}}")
                .unwrap()
                .render(&s)
                .unwrap(),
            "new_report"
        );
        assert_eq!(
            Template::parse("{{report.id || data.id}}")
                .unwrap()
                .render_value(&s)
                .unwrap(),
            json!(3)
        );
        assert_eq!(
            Template::parse("{{a || b | none}}")
                .unwrap()
                .render(&s)
                .unwrap(),
            "none"
        );
        assert_eq!(
            Template::parse("{{a || b}}")
                .unwrap()
                .render(&s)
                .unwrap_err()
                .field,
            "a || b"
        );
    }

    #[test]
    fn lists_its_variables() {
        let t = Template::parse("{{$a}}-{{b}}-{{$c}}").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), ["a", "c"]);
    }

    #[test]
    fn path_values_stay_in_their_segment_and_the_prefix_goes_in_as_it_is() {
        let vars = BTreeMap::from([
            ("api_base".to_string(), "/api/v1".to_string()),
            ("user".to_string(), "a b/c".to_string()),
        ]);
        let t = Template::parse("{{$api_base}}/reports/{{id}}/by/{{$user}}").unwrap();
        let render = |id: Value| {
            let payload = json!({ "id": id });
            t.render_path(&scope(&payload, &vars, None))
        };
        assert_eq!(
            render(json!("../admin")).unwrap(),
            "/api/v1/reports/..%2Fadmin/by/a%20b%2Fc"
        );
        assert_eq!(
            render(json!("a/b?x#y")).unwrap(),
            "/api/v1/reports/a%2Fb%3Fx%23y/by/a%20b%2Fc"
        );
        assert_eq!(
            render(json!("@other.example")).unwrap(),
            "/api/v1/reports/%40other.example/by/a%20b%2Fc"
        );
        assert_eq!(render(json!(7)).unwrap(), "/api/v1/reports/7/by/a%20b%2Fc");
        // `render` (titles, query values) is unchanged.
        let payload = json!({"id": "a/b"});
        assert_eq!(
            Template::parse("{{id}}")
                .unwrap()
                .render(&scope(&payload, &vars, None))
                .unwrap(),
            "a/b"
        );
        // The prefix must be a path prefix.
        for bad in ["api", "http://other.example", "/a?b", "/a/../b", "/a\\b"] {
            let vars = BTreeMap::from([("api_base".to_string(), bad.to_string())]);
            let err = t
                .render_path(&scope(&json!({"id": 1}), &vars, None))
                .unwrap_err();
            assert!(matches!(err, PathError::Prefix(_)), "{bad:?}: {err}");
        }
        let vars = BTreeMap::from([("api_base".to_string(), String::new())]);
        assert_eq!(
            Template::parse("{{$api_base}}/x")
                .unwrap()
                .render_path(&scope(&json!({}), &vars, None))
                .unwrap(),
            "/x"
        );
    }

    #[test]
    fn rooted_paths() {
        for good in ["/api/x", "{{$api_base}}/x/{{id}}", "/{{id}}"] {
            assert!(Template::parse(good).unwrap().is_rooted_path(), "{good}");
        }
        for bad in [
            "api/x",
            "{{id}}/x",
            "{{$api_base}}x",
            "{{$api_base}}",
            "{{$api_base | /api}}/x",
            "@other.example/x",
            "//other.example/x",
            "{{$api_base}}//other.example/x",
            "",
        ] {
            assert!(!Template::parse(bad).unwrap().is_rooted_path(), "{bad}");
        }
        assert!(is_dot_segment("%2E%2e") && is_dot_segment(".") && !is_dot_segment("..."));
    }
}
