//! What a record's fields are called, and what to say when none of the ones a rule names are there.
//!
//! Servers built from the same design name things differently (`updatedAt` or `updated_at`, `id` or `_id`,
//! `title` or `issue`). Profiles list the common alternatives; this module covers what they cannot list: the
//! other spelling of a field, and a readable summary of a record's own short text when a title has nothing to
//! show ("City Hall · Radio console down · pending" rather than "untitled").

use serde_json::Value;

/// The other spellings of a field path's last segment: camelCase and snake_case, and the id family (`id`,
/// `_id`, `uuid`).
pub fn spellings(path: &str) -> Vec<String> {
    let (prefix, last) = match path.rsplit_once('.') {
        Some((prefix, last)) => (format!("{prefix}."), last),
        None => (String::new(), path),
    };
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: String| {
        if name != last && !out.iter().any(|o| o.ends_with(&name)) {
            out.push(format!("{prefix}{name}"));
        }
    };
    push(to_snake(last));
    push(to_camel(last));
    if ["id", "_id", "uuid"].contains(&last) {
        for name in ["id", "_id", "uuid"] {
            push(name.to_string());
        }
    }
    out
}

fn to_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn to_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for (i, c) in name.chars().enumerate() {
        if c == '_' && i > 0 {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The longest text a summary takes from one field.
const SHORT: usize = 80;

/// Fields a summary leaves out: identities, times, credentials and links say nothing to an officer.
fn skipped(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let exact = [
        "id", "_id", "uuid", "type", "event", "action", "token", "password", "url", "href", "link",
    ];
    exact.contains(&k.as_str())
        || k.ends_with("id")
        || k.ends_with("_at")
        || (key.ends_with("At") && key.len() > 2)
        || [
            "time", "date", "token", "secret", "password", "email", "url", "assign",
        ]
        .iter()
        .any(|w| k.contains(w))
}

/// Where a field usually belongs in a summary: the text first, then places and people, then states.
fn rank(key: &str) -> usize {
    const ORDER: &[&[&str]] = &[
        &[
            "title",
            "headline",
            "subject",
            "summary",
            "issue",
            "message",
            "text",
            "description",
            "details",
            "name",
            "command",
            "problem",
            "reason",
            "note",
            "comment",
        ],
        &["category", "kind"],
        &[
            "location", "address", "site", "zone", "station", "customer", "caller",
        ],
        &["status", "state", "severity", "priority"],
    ];
    // By the key's first word: `customerName` is about a customer, `stationName` about a station.
    let first = to_snake(key)
        .trim_start_matches('_')
        .split('_')
        .next()
        .unwrap_or_default()
        .to_string();
    ORDER
        .iter()
        .position(|group| group.iter().any(|w| first == *w))
        .unwrap_or(ORDER.len())
}

/// The record's short text fields, most telling first: strings of at most 80 characters that are not ids,
/// times, credentials or links, from the payload and, one level down, the objects it carries (`report`,
/// `emergency`, `data`, a fetched `record`). Each text appears once.
pub fn short_texts(payload: &Value) -> Vec<String> {
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    let mut visit = |key: &str, value: &Value, depth: usize| {
        if let Value::String(text) = value {
            let text = text.trim();
            let looks_like_time = crate::domain::Timestamp::parse(text).is_ok();
            if !text.is_empty()
                && text.chars().count() <= SHORT
                && !skipped(key)
                && !looks_like_time
                && !text.contains("://")
            {
                found.push((depth, rank(key), text.to_string()));
            }
        }
    };
    if let Value::Object(map) = payload {
        for (key, value) in map {
            visit(key, value, 0);
        }
        for value in map.values() {
            if let Value::Object(inner) = value {
                for (key, value) in inner {
                    visit(key, value, 1);
                }
            }
        }
    }
    found.sort_by_key(|(depth, rank, _)| (*rank, *depth));
    let mut texts: Vec<String> = Vec::new();
    for (_, _, text) in found {
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    texts
}

/// Up to `count` short texts joined with " · ", skipping those already shown elsewhere (`except`).
pub fn summary(texts: &[String], except: &str, count: usize) -> String {
    texts
        .iter()
        .filter(|t| !except.contains(t.as_str()))
        .take(count)
        .cloned()
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn other_spellings_of_a_field() {
        assert_eq!(spellings("updatedAt"), ["updated_at"]);
        assert_eq!(spellings("updated_at"), ["updatedAt"]);
        assert_eq!(spellings("report.station_id"), ["report.stationId"]);
        assert_eq!(spellings("id"), ["_id", "uuid"]);
        assert_eq!(spellings("_id"), ["id", "uuid"]);
    }

    #[test]
    fn a_summary_of_what_the_record_says() {
        let call = json!({
            "_id": "65f0c0ffee", "issue": "Radio console down", "customerName": "City Hall",
            "status": "pending", "createdAt": "2026-11-30T10:00:00Z", "assignedTo": "u-7",
            "notes": "x".repeat(200), "link": "https://x.example/c/1"
        });
        let texts = short_texts(&call);
        assert_eq!(texts, ["Radio console down", "City Hall", "pending"]);
        assert_eq!(
            summary(&texts, "", 3),
            "Radio console down · City Hall · pending"
        );
        assert_eq!(
            summary(&texts, "Radio console down", 2),
            "City Hall · pending"
        );
        let nested =
            json!({"type": "new_report", "report": {"id": 4, "details": "Smoke", "station_id": 4}});
        assert_eq!(short_texts(&nested), ["Smoke"]);
        assert!(short_texts(&json!(null)).is_empty());
    }
}
