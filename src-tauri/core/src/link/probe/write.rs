//! The override a probe writes (`--write FILE`): a profile that `extends` the one probed and fixes what the probe
//! could tell: the REST base, where a list's records are and what its cursor field is called, and, for events
//! whose id or title fields were not there, the fields the server really uses.

use serde_json::Value;
use toml::{Table, Value as Toml};

use super::{Probe, ProbeOptions};
use crate::link::base;
use crate::profile::template::split_fallback;
use crate::profile::{fields, Profile};

/// The override's TOML, or `None` when the probe had no profile to extend (or the profile cannot be read back).
pub fn override_text(probe: &Probe, options: &ProbeOptions) -> Option<String> {
    let (profile, name) = options.profile.as_ref()?;
    let source = Profile::source_table(name).ok()?;
    let report = &probe.report;
    let mut out = Table::new();
    out.insert("extends".into(), Toml::String(name.clone()));
    if let Some(found) = report
        .api_base
        .as_ref()
        .filter(|b| b.answered && b.base != b.profile_default)
    {
        let mut variable = Table::new();
        variable.insert("default".into(), Toml::String(found.base.clone()));
        let mut variables = Table::new();
        variables.insert(base::VARIABLE.into(), Toml::Table(variable));
        out.insert("variables".into(), Toml::Table(variables));
    }
    if let Some(lists) = fixed_lists(probe, &source) {
        out.insert("backfill".into(), lists);
    }
    let rules = fixed_rules(probe, profile, &source);
    if !rules.is_empty() {
        out.insert("rules".into(), Toml::Array(rules));
    }
    let body = toml::to_string_pretty(&out).ok()?;
    Some(format!(
        "# Written by `alertdesk profile probe` against {} ({}): what it found that {} does not expect.\n\
         # Check it with `alertdesk profile check FILE`; `alertdesk profile show FILE` prints it merged.\n\n{}\n",
        report.server,
        crate::domain::Timestamp::now(),
        profile.name,
        body.trim_end()
    ))
}

/// The profile's lists with their `items` and `cursor` set to what the server answers, when any needs it.
fn fixed_lists(probe: &Probe, source: &Table) -> Option<Toml> {
    let lists = source.get("backfill")?.as_array()?;
    let mut changed = false;
    let mut fixed = Vec::with_capacity(lists.len());
    for (list, report) in lists.iter().zip(&probe.report.lists) {
        let mut list = list.as_table()?.clone();
        if let Some(at) = &report.found_at {
            list.insert("items".into(), Toml::String(at.clone()));
            changed = true;
        }
        if let (Some(want), Some(found)) = (&report.cursor, &report.cursor_found) {
            if want != found {
                list.insert("cursor".into(), Toml::String(found.clone()));
                changed = true;
            }
        }
        fixed.push(Toml::Table(list));
    }
    changed.then_some(Toml::Array(fixed))
}

/// For each event whose rule found no id, or no value for a title or body field: the rule with the fields the
/// server's records really have added as alternatives (tried before the base's rules).
fn fixed_rules(probe: &Probe, profile: &Profile, source: &Table) -> Vec<Toml> {
    let Some(rules) = source.get("rules").and_then(Toml::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for event in &probe.report.events {
        let (Some(index), Some((payload, record))) = (event.rule, probe.samples.get(&event.name))
        else {
            continue;
        };
        let Some(mut rule) = rules.get(index as usize).and_then(Toml::as_table).cloned() else {
            continue;
        };
        let reads_record = profile
            .rules
            .get(index as usize)
            .is_some_and(|r| r.fetch.is_some());
        let mut changed = false;
        if event.outcome == "no id" {
            if let (Some(Toml::String(id)), Some(path)) = (rule.get("id"), id_path(payload)) {
                rule.insert("id".into(), Toml::String(add_alternative_to_all(id, &path)));
                changed = true;
            }
        }
        for missing in &event.missing {
            let text = if reads_record && missing.contains("$record") {
                record.as_ref().and_then(|r| text_path(r, "$record."))
            } else {
                text_path(payload, "")
            };
            let Some(path) = text else { continue };
            for key in ["title", "body"] {
                if let Some(Toml::String(template)) = rule.get(key) {
                    let fixed = add_alternative(template, missing, &path);
                    if &fixed != template {
                        rule.insert(key.into(), Toml::String(fixed));
                        changed = true;
                    }
                }
            }
        }
        if changed {
            out.push(Toml::Table(rule));
        }
    }
    out
}

/// Where the record's id is: `id`, `_id` or `uuid`, at the top or one object down.
fn id_path(payload: &Value) -> Option<String> {
    const IDS: [&str; 3] = ["id", "_id", "uuid"];
    let map = payload.as_object()?;
    if let Some(key) = IDS
        .iter()
        .find(|k| map.get(**k).is_some_and(|v| !v.is_null()))
    {
        return Some((*key).to_string());
    }
    map.iter().find_map(|(outer, value)| {
        let inner = value.as_object()?;
        IDS.iter()
            .find(|k| inner.get(**k).is_some_and(|v| !v.is_null()))
            .map(|k| format!("{outer}.{k}"))
    })
}

/// The path of the record's most telling short text field (as a summary would pick it).
fn text_path(record: &Value, prefix: &str) -> Option<String> {
    let best = fields::short_texts(record).into_iter().next()?;
    let map = record.as_object()?;
    let direct = map
        .iter()
        .find(|(_, v)| v.as_str() == Some(best.as_str()))
        .map(|(k, _)| k.clone());
    let path = direct.or_else(|| {
        map.iter().find_map(|(outer, v)| {
            v.as_object()?
                .iter()
                .find(|(_, inner)| inner.as_str() == Some(best.as_str()))
                .map(|(k, _)| format!("{outer}.{k}"))
        })
    })?;
    Some(format!("{prefix}{path}"))
}

/// `template` with `path` added as the last alternative of the field written `missing` (`a || b`), before its
/// fallback: `{{a || b | none}}` becomes `{{a || b || path | none}}`.
fn add_alternative(template: &str, missing: &str, path: &str) -> String {
    let want: String = missing.chars().filter(|c| !c.is_whitespace()).collect();
    rewrite_fields(template, |fields| {
        let have: String = fields.chars().filter(|c| !c.is_whitespace()).collect();
        (have == want).then(|| format!("{} || {path}", fields.trim()))
    })
}

/// Every field of `template` with `path` added as an alternative (ids: the record's id wherever it was sought).
fn add_alternative_to_all(template: &str, path: &str) -> String {
    rewrite_fields(template, |fields| {
        (!fields.trim().starts_with('$')).then(|| format!("{} || {path}", fields.trim()))
    })
}

/// Rewrites the field list (before any `| fallback`) of each `{{ }}` where `change` says how.
fn rewrite_fields(template: &str, change: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let (fields, fallback) = split_fallback(inner);
        out.push_str("{{");
        if let Some(fields) = change(fields) {
            out.push_str(&fields);
            if let Some(fallback) = fallback {
                out.push_str(" |");
                out.push_str(fallback);
            }
        } else {
            out.push_str(inner);
        }
        out.push_str("}}");
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn alternatives_go_where_the_field_was_missing() {
        assert_eq!(
            add_alternative(
                "New call: {{title || subject | untitled}}",
                "title || subject",
                "issue"
            ),
            "New call: {{title || subject || issue | untitled}}"
        );
        assert_eq!(
            add_alternative("{{a}} · {{b}}", "b", "c.d"),
            "{{a}} · {{b || c.d}}"
        );
        assert_eq!(
            add_alternative_to_all("call-{{id || _id}}", "ref"),
            "call-{{id || _id || ref}}"
        );
        assert_eq!(
            add_alternative_to_all("x-{{$event_id}}", "id"),
            "x-{{$event_id}}"
        );
    }

    #[test]
    fn the_record_says_where_its_id_and_text_are() {
        assert_eq!(
            id_path(&json!({"ref": 1, "_id": "a"})).as_deref(),
            Some("_id")
        );
        assert_eq!(
            id_path(&json!({"type": "x", "item": {"uuid": "u"}})).as_deref(),
            Some("item.uuid")
        );
        assert_eq!(id_path(&json!({"type": "x"})), None);
        assert_eq!(
            text_path(&json!({"ref": 1, "headline": "Fire", "status": "open"}), "").as_deref(),
            Some("headline")
        );
        assert_eq!(
            text_path(&json!({"report": {"details": "Smoke"}}), "$record.").as_deref(),
            Some("$record.report.details")
        );
    }
}
