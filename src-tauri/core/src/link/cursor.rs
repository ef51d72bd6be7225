//! Where each of a profile's lists resumes after a reconnect or a restart.
//!
//! A list with a cursor field (`cursor = "updatedAt"`) resumes after the largest value seen; a list without
//! one is primed once (its records that predate the first connection become quiet history) and is compared
//! with the history afterwards. Lists are keyed by their request ([`crate::profile::Backfill::key`]), so
//! reordering a profile's lists keeps their positions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where one list resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Its baseline is set; it has no cursor field (or none seen yet), so records are compared with the history.
    Primed,
    /// After this value of the list's cursor field (the largest seen).
    After(String),
}

impl Position {
    /// The cursor value to ask from, if any.
    pub fn after(&self) -> Option<&str> {
        match self {
            Self::Primed => None,
            Self::After(value) => Some(value),
        }
    }
}

/// Every list's position, and the REST base path the link found on the server (kept with the positions: both
/// are what a link remembers of a server between runs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursors {
    lists: BTreeMap<String, Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_base: Option<String>,
}

/// The cursor text in the history was written by an older Alertdesk: `{"<list index>": "<value>" | "primed"}`.
type Legacy = BTreeMap<String, String>;

/// What the legacy format called a primed list.
const LEGACY_PRIMED: &str = "primed";

impl Cursors {
    /// Where `list` resumes; `None` when it was never fetched (its first fetch sets the baseline).
    pub fn get(&self, list: &str) -> Option<&Position> {
        self.lists.get(list)
    }

    /// Moves `list` to `position`.
    pub fn set(&mut self, list: &str, position: Position) {
        self.lists.insert(list.to_string(), position);
    }

    /// The REST base path found on the server, if the link looked for one.
    pub fn api_base(&self) -> Option<&str> {
        self.api_base.as_deref()
    }

    /// Remembers the REST base path found on the server.
    pub fn set_api_base(&mut self, base: &str) {
        self.api_base = Some(base.to_string());
    }

    /// The text kept in the history.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored text. `lists` are the profile's list keys in order, for cursors an older version kept
    /// by list index. Text that is neither shape is `None`: the lists start over from a new baseline.
    pub fn from_stored(text: &str, lists: &[String]) -> Option<Self> {
        if let Ok(cursors) = serde_json::from_str::<Self>(text) {
            return Some(cursors);
        }
        let legacy: Legacy = serde_json::from_str(text).ok()?;
        let mut cursors = Self::default();
        for (index, value) in legacy {
            let Some(list) = index.parse::<usize>().ok().and_then(|i| lists.get(i)) else {
                continue;
            };
            let position = if value == LEGACY_PRIMED {
                Position::Primed
            } else {
                Position::After(value)
            };
            cursors.set(list, position);
        }
        Some(cursors)
    }
}

/// Orders cursor values: numbers numerically, anything else as text (RFC 3339 times sort as text).
pub fn cursor_less(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x < y,
        _ => a < b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_legacy_cursors() {
        let mut cursors = Cursors::default();
        cursors.set("/api/reports", Position::After("41".into()));
        cursors.set("/api/tickets", Position::Primed);
        let text = cursors.to_stored();
        assert_eq!(
            text,
            r#"{"lists":{"/api/reports":{"after":"41"},"/api/tickets":"primed"}}"#
        );
        let lists = vec!["/api/reports".to_string(), "/api/tickets".to_string()];
        assert_eq!(Cursors::from_stored(&text, &lists), Some(cursors.clone()));
        let legacy = r#"{"0":"41","1":"primed","7":"x"}"#;
        assert_eq!(Cursors::from_stored(legacy, &lists), Some(cursors));
        assert_eq!(Cursors::from_stored("not json", &lists), None);
    }

    #[test]
    fn cursor_values_order_as_numbers_or_text() {
        assert!(cursor_less("9", "10"));
        assert!(!cursor_less("10", "9"));
        assert!(cursor_less("2024-05-01T08:00:00Z", "2024-05-01T09:00:00Z"));
    }
}
