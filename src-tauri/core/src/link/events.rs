//! A live message made into alerts: the profile names the event (raw WebSockets) and its rules build the alert,
//! fetching the record over REST where a rule says so (events that carry only an id, or nothing at all).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::rest::{is_newest_first, list_items, record_key, Rest};
use super::Target;
use crate::domain::Alert;
use crate::profile::rules::{self, Fetch, Rule};
use crate::profile::{Profile, Scope};

/// Turns a link's messages into alerts.
#[derive(Debug)]
pub struct Events {
    profile: Arc<Profile>,
    vars: BTreeMap<String, String>,
    rest: Rest,
    /// Records already seen by list-fetching rules (per rule index).
    seen: HashMap<usize, HashSet<String>>,
}

/// The server refused the credentials on a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

impl Events {
    /// For `target`'s profile, fetching with `rest`.
    pub fn new(target: &Target, rest: Rest) -> Self {
        Self {
            profile: Arc::clone(&target.profile),
            vars: target.vars.clone(),
            rest,
            seen: HashMap::new(),
        }
    }

    /// The alerts an incoming message becomes (none, one, or several when a list fetch finds several new).
    pub async fn alerts_for(
        &mut self,
        event: Option<String>,
        payload: Value,
    ) -> Result<Vec<Alert>, Rejected> {
        let profile = Arc::clone(&self.profile);
        let name = if let Some(name) = event {
            name
        } else {
            let scope = Scope {
                payload: &payload,
                vars: &self.vars,
                record: None,
            };
            match profile.message.event.render(&scope) {
                Ok(name) => name,
                Err(e) => {
                    tracing::debug!("message without an event name ({e}); dropped");
                    return Ok(Vec::new());
                }
            }
        };
        let Some(matched) = rules::find(&profile.rules, &name, &payload) else {
            tracing::debug!(event = %name, "no rule for this event; dropped");
            return Ok(Vec::new());
        };
        let rule = matched.rule;
        if rule.ignore {
            return Ok(Vec::new());
        }
        let vars = self.vars.clone();
        let build = |payload: Value, record: Option<Value>| {
            rule.build(&profile.name, &name, payload, record, &vars)
        };
        let Some(fetch) = &rule.fetch else {
            return Ok(vec![build(payload, None)]);
        };
        let scope = Scope {
            payload: &payload,
            vars: &self.vars,
            record: None,
        };
        if let Some(Ok(path)) = fetch.get.as_ref().map(|t| t.render(&scope)) {
            let record = self.rest.get_path(&path).await.map_err(Rejected)?;
            if let Some(record) = &record {
                self.mark_seen(matched.index, fetch, record);
            }
            return Ok(vec![build(payload, record)]);
        }
        if fetch.list.is_some() {
            let fresh = self.fetch_unseen(matched.index, rule).await?;
            return Ok(fresh
                .into_iter()
                .map(|record| build(payload.clone(), Some(record)))
                .collect());
        }
        Ok(vec![build(payload, None)])
    }

    /// Learns what the list endpoints already hold, so only records created from now on become alerts.
    pub async fn prime_lists(&mut self) -> Result<(), Rejected> {
        let profile = Arc::clone(&self.profile);
        for (index, rule) in profile.rules.iter().enumerate() {
            if rule.fetch.as_ref().is_some_and(|f| f.list.is_some())
                && !self.seen.contains_key(&index)
            {
                self.seen.insert(index, HashSet::new());
                let _ = self.fetch_unseen(index, rule).await?;
            }
        }
        Ok(())
    }

    async fn fetch_unseen(&mut self, index: usize, rule: &Rule) -> Result<Vec<Value>, Rejected> {
        let Some(fetch) = &rule.fetch else {
            return Ok(Vec::new());
        };
        let Some(list) = &fetch.list else {
            return Ok(Vec::new());
        };
        let Ok(path) = list.render(&Scope::of_vars(&self.vars)) else {
            return Ok(Vec::new());
        };
        let Some(answer) = self.rest.get_path(&path).await.map_err(Rejected)? else {
            return Ok(Vec::new());
        };
        let items = list_items(&answer, &fetch.items);
        let seen = self.seen.entry(index).or_default();
        let mut fresh = Vec::new();
        for item in items {
            if let Some(key) = record_key(item, &fetch.key) {
                if seen.insert(key) {
                    fresh.push(item.clone());
                }
            }
        }
        // Lists come newest first or oldest first; alerts go out oldest first.
        if fresh.len() > 1 && is_newest_first(&fresh) {
            fresh.reverse();
        }
        Ok(fresh)
    }

    fn mark_seen(&mut self, index: usize, fetch: &Fetch, record: &Value) {
        if let Some(key) = record_key(record, &fetch.key) {
            self.seen.entry(index).or_default().insert(key);
        }
    }
}
