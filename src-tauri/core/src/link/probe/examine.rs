//! What the probe saw, held against the profile: each event through the rules, each list's answer, and what to
//! change.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::connect::Seen;
use super::{BaseReport, EventReport, FieldSample, ListReport, ProbeOptions, ProbeReport};
use crate::link::base;
use crate::link::rest::{find_array, is_newest_first, json_kind, list_items, record_key, Rest};
use crate::link::Target;
use crate::profile::rules::{self, NotAnAlert};
use crate::profile::{spellings, Profile, Scope};

/// The most field paths sampled per record.
const MAX_FIELDS: usize = 40;

/// What holding the server against a profile found, and the first record of each event (for the override).
#[derive(Debug, Default)]
pub struct Examined {
    /// Where the REST API is.
    pub api_base: Option<BaseReport>,
    /// Each event name, in the order first seen.
    pub events: Vec<EventReport>,
    /// Each list.
    pub lists: Vec<ListReport>,
    /// Per event name: its first payload and the record fetched for it, if any.
    pub samples: BTreeMap<String, (Value, Option<Value>)>,
}

/// Every event and list, held against `profile`.
pub async fn with_profile(
    options: &ProbeOptions,
    profile: &Arc<Profile>,
    seen: &[Seen],
) -> Examined {
    let mut vars = profile.resolve_variables(&options.set).unwrap_or_default();
    let discover = Target::discovers_base(profile, &options.set);
    let target = Target {
        profile: Arc::clone(profile),
        server: options.server.clone(),
        vars: vars.clone(),
        token: options.token.clone(),
        cursor: None,
        discover_base: discover,
        net: options.net.clone(),
    };
    let rest = Rest::new(options.net.http(), &target);
    let mut examined = Examined::default();
    if let Some(default) = vars.get(base::VARIABLE).cloned() {
        let found = if discover {
            let candidates = base::candidates(None, &default);
            match base::discover(&rest, profile, &vars, &candidates).await {
                base::Found::Base(found) => Some(found),
                base::Found::Nothing | base::Found::Unreachable(_) => None,
            }
        } else {
            Some(default.clone())
        };
        if let Some(found) = &found {
            vars.insert(base::VARIABLE.into(), found.clone());
        }
        examined.api_base = Some(BaseReport {
            answered: found.is_some(),
            base: found.unwrap_or_else(|| default.clone()),
            profile_default: profile
                .variables
                .get(base::VARIABLE)
                .and_then(|v| v.default.clone())
                .unwrap_or(default),
        });
    }
    for message in seen {
        let name = event_name(profile, &vars, message);
        if let Some(report) = examined.events.iter_mut().find(|e| e.name == name) {
            report.count += 1;
            continue;
        }
        let (report, record) = classify(profile, &vars, &rest, &name, &message.payload).await;
        examined
            .samples
            .insert(name, (message.payload.clone(), record));
        examined.events.push(report);
    }
    for list in &profile.backfill {
        examined.lists.push(examine_list(&rest, &vars, list).await);
    }
    examined
}

/// The events a server sent, with their fields, when there is no profile to hold them against.
pub fn without_profile(seen: &[Seen]) -> Vec<EventReport> {
    let mut events: Vec<EventReport> = Vec::new();
    for message in seen {
        let name = message
            .event
            .clone()
            .or_else(|| {
                ["type", "event", "action"]
                    .iter()
                    .find_map(|k| message.payload.get(k)?.as_str().map(str::to_string))
            })
            .unwrap_or_else(|| "(no event name)".into());
        match events.iter_mut().find(|e| e.name == name) {
            Some(report) => report.count += 1,
            None => events.push(EventReport {
                name,
                count: 1,
                rule: None,
                outcome: "no profile".into(),
                title: None,
                missing: Vec::new(),
                fell_back: Vec::new(),
                fields: samples(&message.payload),
            }),
        }
    }
    events
}

fn event_name(profile: &Profile, vars: &BTreeMap<String, String>, message: &Seen) -> String {
    if let Some(name) = &message.event {
        return name.clone();
    }
    let scope = Scope {
        payload: &message.payload,
        vars,
        record: None,
    };
    profile
        .message
        .event
        .render(&scope)
        .unwrap_or_else(|_| "(no event name)".into())
}

/// One event through the profile's rules (fetching its record where the rule says), and the record fetched.
async fn classify(
    profile: &Profile,
    vars: &BTreeMap<String, String>,
    rest: &Rest,
    name: &str,
    payload: &Value,
) -> (EventReport, Option<Value>) {
    let mut report = EventReport {
        name: name.to_string(),
        count: 1,
        rule: None,
        outcome: "no rule".into(),
        title: None,
        missing: Vec::new(),
        fell_back: Vec::new(),
        fields: samples(payload),
    };
    let Some(matched) = rules::find(&profile.rules, name, payload) else {
        return (report, None);
    };
    report.rule = u32::try_from(matched.index).ok();
    if matched.rule.ignore {
        report.outcome = "ignored".into();
        return (report, None);
    }
    let scope = Scope {
        payload,
        vars,
        record: None,
    };
    let record = match &matched.rule.fetch {
        Some(fetch) => fetch_sample(rest, fetch, &scope, vars).await,
        None => None,
    };
    if let Some(record) = &record {
        report
            .fields
            .extend(samples(record).into_iter().map(|s| FieldSample {
                path: format!("$record.{}", s.path),
                sample: s.sample,
            }));
    }
    match matched
        .rule
        .build_traced(&profile.name, name, payload.clone(), record.clone(), vars)
    {
        Ok(built) => {
            report.outcome = "alert".into();
            report.title = Some(built.alert.fields.title);
            report.missing = built.missing;
            report.fell_back = built.fell_back;
        }
        Err(NotAnAlert::NoId { .. }) => report.outcome = "no id".into(),
    }
    (report, record)
}

/// The record a fetching rule would read: by id when the event names it, else the newest of its list.
async fn fetch_sample(
    rest: &Rest,
    fetch: &crate::profile::rules::Fetch,
    scope: &Scope<'_>,
    vars: &BTreeMap<String, String>,
) -> Option<Value> {
    if let Some(path) = fetch.get.as_ref().and_then(|t| t.render_path(scope).ok()) {
        return rest.get_path(&path).await.ok();
    }
    let path = fetch
        .list
        .as_ref()?
        .render_path(&Scope::of_vars(vars))
        .ok()?;
    let answer = rest.get_path(&path).await.ok()?;
    let records: Vec<Value> = list_items(&answer, &fetch.items)
        .ok()?
        .records
        .into_iter()
        .cloned()
        .collect();
    if is_newest_first(&records) {
        records.into_iter().next()
    } else {
        records.into_iter().last()
    }
}

async fn examine_list(
    rest: &Rest,
    vars: &BTreeMap<String, String>,
    list: &crate::profile::Backfill,
) -> ListReport {
    let scope = Scope::of_vars(vars);
    let path = list.path.render_path(&scope).unwrap_or_default();
    let mut report = ListReport {
        list: format!("GET {path}"),
        ok: false,
        status: String::new(),
        shape: None,
        items: list.items.clone(),
        found_at: None,
        records: 0,
        cursor: list.cursor.clone(),
        cursor_found: None,
        error: None,
        fields: Vec::new(),
    };
    let mut url = match rest.url(&path) {
        Ok(url) => url,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    for (key, value) in &list.query {
        if let Ok(value) = value.render(&scope) {
            url.query_pairs_mut().append_pair(key, &value);
        }
    }
    let answer = match rest.get(url).await {
        Ok(answer) => answer,
        Err(e) => {
            report.status = e.message().to_string();
            report.error = Some(e.message().to_string());
            return report;
        }
    };
    report.status = "HTTP 200".into();
    report.shape = Some(shape(&answer));
    match list_items(&answer, &list.items) {
        Ok(items) => {
            report.ok = true;
            report.records = items.records.len();
            if items.note.is_some() {
                report.found_at = find_array(&answer).ok().map(|(at, _)| at);
            }
            if let Some(first) = items.records.first() {
                report.fields = samples(first);
            }
            if let Some(field) = &list.cursor {
                let has = |name: &str| items.records.iter().any(|r| record_key(r, name).is_some());
                report.cursor_found = std::iter::once(field.clone())
                    .chain(spellings(field))
                    .find(|name| has(name));
                if report.cursor_found.is_none() && !items.records.is_empty() {
                    report.ok = false;
                    report.error = Some(format!("the records have no `{field}` to resume from"));
                }
            }
        }
        Err(e) => report.error = Some(e.to_string()),
    }
    report
}

/// "a bare list of 3", "an object with fields: reports, total".
fn shape(answer: &Value) -> String {
    match answer {
        Value::Array(items) => format!("a bare list of {}", items.len()),
        Value::Object(map) => format!(
            "an object with fields: {}",
            map.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        other => json_kind(other).to_string(),
    }
}

/// A record's field paths (two levels down) with short samples.
pub fn samples(value: &Value) -> Vec<FieldSample> {
    let mut out = Vec::new();
    walk(value, "", 0, &mut out);
    out
}

fn walk(value: &Value, prefix: &str, depth: usize, out: &mut Vec<FieldSample>) {
    let Value::Object(map) = value else {
        return;
    };
    for (key, value) in map {
        if out.len() >= MAX_FIELDS {
            return;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(_) if depth < 2 => walk(value, &path, depth + 1, out),
            other => {
                let mut sample = other.to_string();
                if sample.chars().count() > 40 {
                    sample = sample.chars().take(39).collect::<String>() + "…";
                }
                out.push(FieldSample { path, sample });
            }
        }
    }
}

/// What to change, from what the probe found.
pub fn advice(report: &ProbeReport, profile: Option<&Profile>) -> Vec<String> {
    let mut out = Vec::new();
    let connection = &report.connection;
    if !connection.connected {
        match (connection.auth_needed, connection.token_accepted) {
            (Some(true), None) => out.push(
                "the socket needs a token: sign in (alertdesk login) or pass one (ALERTDESK_TOKEN, --token), then probe again"
                    .into(),
            ),
            (Some(true), Some(false)) => out.push("the server refused the token: sign in again".into()),
            _ => out.push(format!(
                "no Socket.IO or WebSocket endpoint answered ({}); check the server URL and the profile's path",
                connection.attempts.join("; ")
            )),
        }
    }
    if let (Some(profile), Some(false)) = (profile, connection.auth_needed) {
        if profile.auth.mode != crate::profile::AuthMode::None && !profile.auth.optional {
            out.push(
                "the socket accepted a connection without a token: `[auth] optional = true` lets this server be used without signing in"
                    .into(),
            );
        }
    }
    if let Some(base) = &report.api_base {
        if !base.answered {
            out.push(format!(
                "none of the usual REST base paths answered; set api_base to where this server's API is (the profile's is {})",
                base::shown(&base.profile_default)
            ));
        } else if base.base != base.profile_default {
            out.push(format!(
                "the REST API is at {}, not {} (--set api_base={} fixes it; Alertdesk also finds it by itself)",
                base::shown(&base.base),
                base::shown(&base.profile_default),
                base.base
            ));
        }
    }
    for list in &report.lists {
        match (&list.found_at, &list.error) {
            (_, Some(error)) => out.push(format!("{}: {error}", list.list)),
            (Some(at), None) => out.push(format!(
                "{}: the records are {}, not under `{}` (`items`)",
                list.list,
                if at.is_empty() {
                    "the answer itself".to_string()
                } else {
                    format!("under `{at}`")
                },
                list.items
            )),
            (None, None) => {}
        }
        if let (Some(want), Some(found)) = (&list.cursor, &list.cursor_found) {
            if want != found {
                out.push(format!(
                    "{}: the records carry `{found}`, not `{want}` (`cursor`)",
                    list.list
                ));
            }
        }
    }
    for event in &report.events {
        match event.outcome.as_str() {
            "no rule" => out.push(format!(
                "event `{}` (seen {} times) has no rule: it never becomes an alert",
                event.name, event.count
            )),
            "no id" => out.push(format!(
                "event `{}` carries no id where the profile looks: it never becomes an alert (its fields: {})",
                event.name,
                event.fields.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join(", ")
            )),
            "alert" if !event.missing.is_empty() => out.push(format!(
                "event `{}`: no value for {}; the record's own text stands in (\"{}\")",
                event.name,
                event.missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                event.title.as_deref().unwrap_or_default()
            )),
            _ => {}
        }
    }
    if connection.connected && report.events.is_empty() {
        out.push(
            "no events arrived while watching: make something happen on the server during the probe, or watch longer (--seconds)"
                .into(),
        );
    }
    if profile.is_none() && !report.events.is_empty() {
        if let Some(best) = best_builtin(&report.events) {
            out.push(format!(
                "the events look like built-in profile `{best}`: probe again with --profile {best}"
            ));
        }
    }
    out
}

/// The built-in profile whose rules match the most of the event names seen.
fn best_builtin(events: &[EventReport]) -> Option<String> {
    Profile::builtins()
        .into_iter()
        .map(|p| {
            let matched = events
                .iter()
                .filter(|e| {
                    p.rules
                        .iter()
                        .any(|r| !r.ignore && r.event_names().split('/').any(|n| n == e.name))
                })
                .count();
            (matched, p.name)
        })
        .filter(|(matched, _)| *matched > 0)
        .max_by_key(|(matched, _)| *matched)
        .map(|(_, name)| name)
}
