//! `[[rules]]`: which events become which alerts.
//!
//! Rules are tried in order and the first whose `event` and `when` conditions match wins. A rule either
//! `ignore`s the event or says how to build the alert: kind, stable id, title and body templates, priority
//! (fixed or mapped from a payload field), whether it is assigned to the signed-in user, and whether it notifies.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::fields;
use super::template::{FieldPath, Rendered, Scope, Template};
use crate::domain::{Alert, AlertFields, Kind, Priority, Source, Stated, Timestamp};

/// One rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Event name(s) this rule applies to; `"*"` matches any.
    pub event: OneOrMany,
    /// Payload field conditions, all of which must hold: `{ action = "assigned" }`, `{ action = ["a", "b"] }`;
    /// `"*"` means the field is present and not null.
    #[serde(default)]
    pub when: BTreeMap<String, OneOrMany>,
    /// Drop matching events (telemetry that must never reach the list).
    #[serde(default)]
    pub ignore: bool,
    /// The alert kind (required unless `ignore`).
    #[serde(default)]
    pub kind: Option<Kind>,
    /// Stable id template: the same backend record must give the same id. Without it (or when a field is
    /// missing) each message becomes its own alert.
    #[serde(default)]
    pub id: Option<Template>,
    /// Title template.
    #[serde(default)]
    pub title: Option<Template>,
    /// Body template.
    #[serde(default)]
    pub body: Option<Template>,
    /// Priority: fixed, or mapped from a field. Without it the event states none: a new record is `normal`, an
    /// update keeps the record's priority.
    #[serde(default)]
    pub priority: Option<PrioritySpec>,
    /// Whether the record is assigned to the signed-in user. Without it the event states nothing about the
    /// owner: a new record is not mine, an update keeps what the record was.
    #[serde(default)]
    pub assigned_to_me: Option<AssignedSpec>,
    /// Raise a notification (default: reports, assignments and alerts do).
    #[serde(default)]
    pub notify: Option<bool>,
    /// Fetch the record over REST (events that carry only an id, or nothing).
    #[serde(default)]
    pub fetch: Option<Fetch>,
    /// The event says a record changed without saying which: when its `id` does not render, the link catches
    /// up from the profile's lists instead (what changed comes as updates of the records it knows), and the
    /// event makes no alert of its own.
    #[serde(default)]
    pub catch_up: bool,
    /// Where the record's status is (`{{status || emergency.status}}`): closing statuses end the repeats.
    #[serde(default)]
    pub status: Option<Template>,
    /// Where the backend's own time for this version is (`{{updatedAt || updated_at}}`). Without it, the first
    /// of `updatedAt`, `updated_at`, `createdAt`, `created_at`, `timestamp`, `time` that holds one.
    #[serde(default)]
    pub time: Option<Template>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, expecting = "a string or a list of strings")]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Any of these values.
    Many(Vec<String>),
}

impl OneOrMany {
    fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(v) => v == "*" || v == value,
            Self::Many(vs) => vs.iter().any(|v| v == "*" || v == value),
        }
    }

    /// The names it lists (`*` as itself).
    pub fn names(&self) -> Vec<&str> {
        match self {
            Self::One(v) => vec![v.as_str()],
            Self::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }

    fn is_wildcard(&self) -> bool {
        matches!(self, Self::One(v) if v == "*")
    }
}

/// `priority = "high"` or `priority = { from = "{{severity}}", map = { ... }, default = "normal" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "a priority (low, normal, high, critical) or { from, map, default }"
)]
pub enum PrioritySpec {
    /// Always this priority.
    Fixed(Priority),
    /// Mapped from a payload field.
    Mapped {
        /// The field, as a template.
        from: Template,
        /// Field value -> priority.
        map: BTreeMap<String, Priority>,
        /// When the field is missing or not in `map`.
        #[serde(default = "normal")]
        default: Priority,
    },
}

fn normal() -> Priority {
    Priority::Normal
}

/// `assigned_to_me = true` or `assigned_to_me = { field = "{{assignedTo}}", equals = "{{$user_id}}" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, expecting = "true, false or { field, equals }")]
pub enum AssignedSpec {
    /// Always or never.
    Fixed(bool),
    /// True when both render and are equal.
    Field {
        /// The payload side.
        field: Template,
        /// The user side, usually a variable.
        equals: Template,
    },
}

/// `fetch = { get = "/api/tickets/{{id}}", list = "/api/tickets" }`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fetch {
    /// GET this path for the one record, when the template renders (the event carries an id).
    #[serde(default)]
    pub get: Option<Template>,
    /// Otherwise GET this list and take the records not seen before (events that carry no id at all).
    #[serde(default)]
    pub list: Option<Template>,
    /// Dot path of the array in the list response (empty: the response is the array).
    #[serde(default)]
    pub items: String,
    /// Dot path of a record's id.
    #[serde(default = "default_key")]
    pub key: String,
}

fn default_key() -> String {
    "id".into()
}

/// Why a matched event is not an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnAlert {
    /// The rule's `id` renders nothing for this event: it could never be merged with its later versions.
    #[error("event {event:?} has no id (`{field}` is missing or empty)")]
    NoId {
        /// The event name.
        event: String,
        /// The rule's id template.
        field: String,
    },
}

/// An alert, and how its templates fared.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The alert.
    pub alert: Alert,
    /// Title and body fields with no value, filled with a summary of the record.
    pub missing: Vec<String>,
    /// Title and body fields with no value that took their `| fallback`.
    pub fell_back: Vec<String>,
}

/// A rule that matched an event.
#[derive(Debug, Clone, Copy)]
pub struct RuleMatch<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// Its index in the profile.
    pub index: usize,
}

impl Rule {
    /// The event name(s) the rule applies to, for messages.
    pub fn event_names(&self) -> String {
        match &self.event {
            OneOrMany::One(name) => name.clone(),
            OneOrMany::Many(names) => names.join("/"),
        }
    }

    /// Whether this rule applies to `event` with `payload`.
    pub fn matches(&self, event: &str, payload: &Value) -> bool {
        self.event.contains(event)
            && self.when.iter().all(|(path, want)| {
                let Ok(path) = FieldPath::payload(path) else {
                    return false;
                };
                match path.select(payload) {
                    None | Some(Value::Null) => false,
                    Some(_) if want.is_wildcard() => true,
                    Some(Value::String(s)) => want.contains(s),
                    Some(other) => want.contains(&other.to_string()),
                }
            })
    }

    /// Builds the alert for a matched event. `record` is the fetched record, if the rule fetches.
    ///
    /// A title or body field that is missing (without a `| fallback` of its own) is filled with a summary of
    /// the record's own short text, never left blank or "untitled". An `id` template that renders nothing
    /// means the event is not an alert ([`NotAnAlert::NoId`]): it could never be merged with its record's later
    /// versions. A rule without an `id` key gives each message an id of its own.
    pub fn build(
        &self,
        profile: &str,
        event: &str,
        payload: Value,
        record: Option<Value>,
        vars: &BTreeMap<String, String>,
    ) -> Result<Alert, NotAnAlert> {
        self.build_traced(profile, event, payload, record, vars)
            .map(|built| built.alert)
    }

    /// [`Rule::build`], saying which template fields had no value (for `alertdesk profile probe`).
    pub fn build_traced(
        &self,
        profile: &str,
        event: &str,
        payload: Value,
        record: Option<Value>,
        vars: &BTreeMap<String, String>,
    ) -> Result<Built, NotAnAlert> {
        let received_at = Timestamp::now();
        // `$unique`: an id of this message's own, for rules whose events may carry none (`{{id || $unique}}`).
        let unique = format!(
            "{profile}:{event}:{:016x}",
            fnv1a(&[
                payload.to_string().as_bytes(),
                received_at.to_rfc3339().as_bytes()
            ])
        );
        let mut vars = vars.clone();
        vars.insert("event".into(), event.to_string());
        vars.insert("unique".into(), unique.clone());
        let scope = Scope {
            payload: &payload,
            vars: &vars,
            record: record.as_ref(),
        };
        let kind = self.kind.unwrap_or(Kind::Info);
        let id = match &self.id {
            Some(template) => match template.render(&scope) {
                Ok(id) if !id.trim().is_empty() => id,
                _ => {
                    return Err(NotAnAlert::NoId {
                        event: event.to_string(),
                        field: template.source().to_string(),
                    })
                }
            },
            None => unique,
        };
        let texts = record_texts(record.as_ref(), &payload);
        let mut missing = Vec::new();
        let mut fell_back = Vec::new();
        let mut stated = Stated::ALL;
        // A title or body is the event's own when every field it names was there (or it names none).
        let mut text_of = |template: &Option<Template>, except: &str| -> (String, bool) {
            template.as_ref().map_or((String::new(), false), |t| {
                let rendered = render_text(t, &scope, &texts, except);
                let own = rendered.missing.is_empty()
                    && rendered.fell_back.is_empty()
                    && (rendered.found > 0 || t.is_literal());
                missing.extend(rendered.missing);
                fell_back.extend(rendered.fell_back);
                (rendered.text, own)
            })
        };
        let (title, own_title) = match &self.title {
            Some(_) => text_of(&self.title, ""),
            None => (fields::summary(&texts, "", 3), false),
        };
        stated.title = own_title;
        let title = if title.trim().is_empty() {
            event.to_string()
        } else {
            title
        };
        let (body, own_body) = text_of(&self.body, &title);
        stated.body = own_body;
        let (priority, stated_priority) = self.priority_in(&scope);
        stated.priority = stated_priority;
        let (assigned_to_me, stated_owner) = self.assigned_in(&scope);
        stated.assigned_to_me = stated_owner;
        let (status, server_time) = self.status_and_time(&scope, &payload, record.as_ref());
        let notify = self.notify.unwrap_or_else(|| kind.notifies_by_default());
        let data = match record {
            Some(record) => serde_json::json!({ "message": payload, "record": record }),
            None => payload,
        };
        let alert = Alert {
            id,
            profile: profile.to_string(),
            event: event.to_string(),
            fields: AlertFields {
                kind,
                title,
                body,
                priority,
                assigned_to_me,
            },
            notify,
            received_at,
            source: Source::Live,
            status,
            server_time,
            data,
            stated,
        };
        Ok(Built {
            alert,
            missing,
            fell_back,
        })
    }

    /// The record's status and the backend's time for this version, where the rule says (or the usual time
    /// fields).
    fn status_and_time(
        &self,
        scope: &Scope<'_>,
        payload: &Value,
        record: Option<&Value>,
    ) -> (Option<String>, Option<Timestamp>) {
        let status = self
            .status
            .as_ref()
            .and_then(|t| t.render(scope).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let time = match &self.time {
            Some(t) => t.render(scope).ok().and_then(|t| Timestamp::parse(&t).ok()),
            None => default_time(payload, record),
        };
        (status, time)
    }

    /// Whether the event's payload names its record: the rule's `id` renders without the record (always, for a
    /// rule without an `id`).
    pub fn names_its_record(&self, payload: &Value, vars: &BTreeMap<String, String>) -> bool {
        let scope = Scope {
            payload,
            vars,
            record: None,
        };
        self.id
            .as_ref()
            .is_none_or(|t| t.render(&scope).is_ok_and(|id| !id.trim().is_empty()))
    }

    /// The priority, and whether the event stated one (a rule without `priority`, or a mapped field the event
    /// lacks, states none).
    fn priority_in(&self, scope: &Scope<'_>) -> (Priority, bool) {
        match &self.priority {
            None => (Priority::Normal, false),
            Some(PrioritySpec::Fixed(p)) => (*p, true),
            Some(PrioritySpec::Mapped { from, map, default }) => match from.render(scope) {
                Ok(value) => (
                    map.get(&value.to_lowercase()).copied().unwrap_or(*default),
                    true,
                ),
                Err(_) => (*default, false),
            },
        }
    }

    /// Whether the record is assigned to me, and whether the event said: it names the owner (maybe nobody,
    /// as null) and we know who "me" is.
    fn assigned_in(&self, scope: &Scope<'_>) -> (bool, bool) {
        match &self.assigned_to_me {
            None => (false, false),
            Some(AssignedSpec::Fixed(b)) => (*b, true),
            Some(AssignedSpec::Field { field, equals }) => {
                let me = equals.render(scope);
                let stated = field.present(scope) && me.is_ok();
                let mine = match (field.render(scope), me) {
                    (Ok(a), Ok(b)) => !a.is_empty() && a == b,
                    _ => false,
                };
                (mine, stated)
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !self.ignore && self.kind.is_none() {
            return Err(
                "needs kind = \"report\" | \"assignment\" | \"update\" | \"alert\" | \"info\" (or ignore = true)"
                    .into(),
            );
        }
        for path in self.when.keys() {
            FieldPath::payload(path).map_err(|e| format!("when: {e}"))?;
        }
        if let Some(fetch) = &self.fetch {
            if fetch.get.is_none() && fetch.list.is_none() {
                return Err("fetch needs get, list or both".into());
            }
            super::template::check_paths(&fetch.key).map_err(|e| format!("fetch.key: {e}"))?;
            if !fetch.items.is_empty() {
                FieldPath::payload(&fetch.items).map_err(|e| format!("fetch.items: {e}"))?;
            }
        }
        Ok(())
    }

    /// Every template of the rule (for variable checks at load).
    pub(crate) fn templates(&self) -> Vec<&Template> {
        let mut out: Vec<&Template> = [&self.id, &self.title, &self.body, &self.status, &self.time]
            .into_iter()
            .flatten()
            .collect();
        if let Some(PrioritySpec::Mapped { from, .. }) = &self.priority {
            out.push(from);
        }
        if let Some(AssignedSpec::Field { field, equals }) = &self.assigned_to_me {
            out.extend([field, equals]);
        }
        if let Some(fetch) = &self.fetch {
            out.extend(fetch.get.iter().chain(fetch.list.iter()));
        }
        out
    }
}

/// The backend's own time for a record the rule names no time field for: the first of the usual fields, in the
/// payload or the fetched record, that holds an RFC 3339 time.
fn default_time(payload: &Value, record: Option<&Value>) -> Option<Timestamp> {
    const KEYS: [&str; 6] = [
        "updatedAt",
        "updated_at",
        "createdAt",
        "created_at",
        "timestamp",
        "time",
    ];
    [Some(payload), record]
        .into_iter()
        .flatten()
        .flat_map(|object| KEYS.iter().filter_map(|key| object.get(key)))
        .filter_map(Value::as_str)
        .find_map(|text| Timestamp::parse(text).ok())
}

/// The record's own short texts (the fetched record's first), for fields a template names and the record lacks.
fn record_texts(record: Option<&Value>, payload: &Value) -> Vec<String> {
    let mut texts = record.map(fields::short_texts).unwrap_or_default();
    for text in fields::short_texts(payload) {
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    texts
}

/// A title or body: missing fields filled with a summary of the record's short texts (those not in `except`);
/// when none of its fields is there, the summary wins over the literal fallbacks too.
fn render_text(template: &Template, scope: &Scope<'_>, texts: &[String], except: &str) -> Rendered {
    let summary = fields::summary(texts, except, 3);
    let mut once = Some(summary.clone());
    let rendered = template.render_filling(scope, &mut || once.take().unwrap_or_default(), false);
    if rendered.found == 0 && !summary.is_empty() && !rendered.fell_back.is_empty() {
        let mut once = Some(summary);
        return template.render_filling(scope, &mut || once.take().unwrap_or_default(), true);
    }
    rendered
}

/// FNV-1a: a stable hash (unlike `DefaultHasher`, it never changes between Rust releases).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Finds the first rule matching the event.
pub fn find<'a>(rules: &'a [Rule], event: &str, payload: &Value) -> Option<RuleMatch<'a>> {
    rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.matches(event, payload))
        .map(|(index, rule)| RuleMatch { rule, index })
}
