//! A live message made into alerts: the profile names the event (raw WebSockets) and its rules build the alert,
//! fetching the record over REST where a rule says so (events that carry only an id, or nothing at all).
//!
//! What does not fit is said, not swallowed: a record that cannot be fetched or a list that cannot be read
//! (also when the server refuses the credentials for it: that one record's problem, not the link's end) becomes
//! a problem for the link to report (the alert still goes out with what the event carried), and an event that
//! names no id is counted and logged ([`Skipped`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::rest::{is_newest_first, list_items, record_key, Rest};
use super::seen::Seen;
use super::Target;
use crate::domain::Alert;
use crate::profile::rules::{self, Fetch, NotAnAlert, Rule};
use crate::profile::{Profile, Scope};

/// Turns a link's messages into alerts.
#[derive(Debug)]
pub struct Events {
    profile: Arc<Profile>,
    vars: BTreeMap<String, String>,
    rest: Rest,
    /// Records already seen by list-fetching rules (per rule index), bounded (see [`Seen`]).
    seen: HashMap<usize, Seen>,
    /// What did not fit since the link last asked (see [`Events::take_problems`]).
    problems: Vec<String>,
    /// Lists whose answer did not match the profile, already logged.
    noted: HashSet<String>,
    skipped: Skipped,
    /// A message named no record but said one changed (a `catch_up` rule): the lists are to be read now.
    catch_up: bool,
}

impl Events {
    /// For `target`'s profile, fetching with `rest`.
    pub fn new(target: &Target, rest: Rest) -> Self {
        Self {
            profile: Arc::clone(&target.profile),
            vars: target.vars.clone(),
            rest,
            seen: HashMap::new(),
            problems: Vec::new(),
            noted: HashSet::new(),
            skipped: Skipped::default(),
            catch_up: false,
        }
    }

    /// Whether a message since the last call asked for a catch-up from the lists (see `Rule::catch_up`).
    pub fn take_catch_up(&mut self) -> bool {
        std::mem::take(&mut self.catch_up)
    }

    /// Sets a variable after the link learned it (the REST base it found).
    pub fn set_var(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }

    /// Problems met since the last call, to report.
    pub fn take_problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }

    /// The alerts an incoming message becomes (none, one, or several when a list fetch finds several new).
    pub async fn alerts_for(&mut self, event: Option<String>, payload: Value) -> Vec<Alert> {
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
                    self.skipped.note("(no event name)", &e.to_string());
                    return Vec::new();
                }
            }
        };
        let Some(matched) = rules::find(&profile.rules, &name, &payload) else {
            tracing::debug!(event = %name, "no rule for this event; dropped");
            return Vec::new();
        };
        let rule = matched.rule;
        if rule.ignore {
            return Vec::new();
        }
        if rule.catch_up && !rule.names_its_record(&payload, &self.vars) {
            tracing::debug!(event = %name, "a change without a record: catching up from the lists");
            self.catch_up = true;
            return Vec::new();
        }
        let records = match &rule.fetch {
            None => vec![None],
            Some(fetch) => {
                self.fetch_records(matched.index, rule, fetch, &payload)
                    .await
            }
        };
        let mut alerts = Vec::with_capacity(records.len());
        for record in records {
            match rule.build(&profile.name, &name, payload.clone(), record, &self.vars) {
                Ok(alert) => alerts.push(alert),
                Err(e @ NotAnAlert::NoId { .. }) => self.skipped.note(&name, &e.to_string()),
            }
        }
        alerts
    }

    /// The records a fetching rule's alerts carry: the one record by id when the event names it, else the
    /// list's records not seen before. A fetch that fails is a problem to report, and the alert goes out with
    /// what the event carried (`[None]`). A refusal of the credentials (401/403) for one record is such a
    /// failure too: the socket, not a record fetch, says whether the link's credentials are still good.
    async fn fetch_records(
        &mut self,
        index: usize,
        rule: &Rule,
        fetch: &Fetch,
        payload: &Value,
    ) -> Vec<Option<Value>> {
        let scope = Scope {
            payload,
            vars: &self.vars,
            record: None,
        };
        if let Some(Ok(path)) = fetch.get.as_ref().map(|t| t.render_path(&scope)) {
            return match self.rest.get_path(&path).await {
                Ok(record) => {
                    self.mark_seen(index, fetch, &record);
                    vec![Some(record)]
                }
                Err(why) => {
                    self.problems.push(format!(
                        "cannot fetch the record of a {} event (GET {path}): {}; it is shown without its details",
                        rule.event_names(),
                        why.message()
                    ));
                    vec![None]
                }
            };
        }
        if fetch.list.is_some() {
            return self
                .fetch_unseen(index, rule, false)
                .await
                .into_iter()
                .map(Some)
                .collect();
        }
        vec![None]
    }

    /// Learns what the list endpoints already hold, so only records created from now on become alerts. A list
    /// that cannot be read now is learned at its first good read instead.
    pub async fn prime_lists(&mut self) {
        let profile = Arc::clone(&self.profile);
        for (index, rule) in profile.rules.iter().enumerate() {
            if rule.fetch.as_ref().is_some_and(|f| f.list.is_some())
                && !self.seen.get(&index).is_some_and(Seen::is_primed)
            {
                let _ = self.fetch_unseen(index, rule, true).await;
            }
        }
    }

    /// The records of a rule's list not seen before, oldest first. A list never read before is learned, none of
    /// it new: when that happens for an event (`priming` false: the list could not be read when the link came
    /// up), it is said, since the event's own record may be among them.
    async fn fetch_unseen(&mut self, index: usize, rule: &Rule, priming: bool) -> Vec<Value> {
        let Some(fetch) = &rule.fetch else {
            return Vec::new();
        };
        let Some(list) = &fetch.list else {
            return Vec::new();
        };
        let Ok(path) = list.render_path(&Scope::of_vars(&self.vars)) else {
            return Vec::new();
        };
        let answer = match self.rest.get_path(&path).await {
            Ok(answer) => answer,
            Err(why) => {
                self.problems.push(format!(
                    "cannot read list GET {path} to find what a {} event is about: {}",
                    rule.event_names(),
                    why.message()
                ));
                return Vec::new();
            }
        };
        let items = match list_items(&answer, &fetch.items) {
            Ok(items) => items,
            Err(e) => {
                self.problems
                    .push(format!("cannot read list GET {path}: {e}"));
                return Vec::new();
            }
        };
        if let Some(note) = items.note {
            if self.noted.insert(path.clone()) {
                tracing::warn!("list GET {path}: {note}; reading it anyway");
            }
        }
        let seen = self.seen.entry(index).or_default();
        let learning = !seen.is_primed();
        seen.next_read();
        let mut fresh = Vec::new();
        for item in items.records {
            if let Some(key) = record_key(item, &fetch.key) {
                if seen.insert(key) && !learning {
                    fresh.push(item.clone());
                }
            }
        }
        seen.set_primed();
        seen.prune();
        if learning && !priming {
            self.problems.push(format!(
                "list GET {path} could not be read when the link came up, so its records were learned now and \
                 none is announced as new; the record of this {} event may be among them",
                rule.event_names()
            ));
        }
        // Lists come newest first or oldest first; alerts go out oldest first.
        if fresh.len() > 1 && is_newest_first(&fresh) {
            fresh.reverse();
        }
        fresh
    }

    fn mark_seen(&mut self, index: usize, fetch: &Fetch, record: &Value) {
        if let Some(key) = record_key(record, &fetch.key) {
            let seen = self.seen.entry(index).or_default();
            seen.next_read();
            seen.insert(key);
            seen.prune();
        }
    }
}

/// Events that became no alert, counted per event name and logged at most once a minute with the counts.
#[derive(Debug, Default)]
pub struct Skipped {
    counts: BTreeMap<String, u64>,
    since_log: u64,
    logged: Option<Instant>,
}

impl Skipped {
    /// How often the count is logged at most.
    const EVERY: Duration = Duration::from_secs(60);
    /// Event names counted at most (others are counted under "other").
    const NAMES: usize = 64;

    /// Counts one skipped event and logs when it is time.
    pub fn note(&mut self, event: &str, why: &str) {
        let key = if self.counts.len() < Self::NAMES || self.counts.contains_key(event) {
            event.to_string()
        } else {
            "other".to_string()
        };
        *self.counts.entry(key).or_default() += 1;
        self.since_log += 1;
        if self.logged.is_none_or(|at| at.elapsed() >= Self::EVERY) {
            tracing::warn!(
                "{} event(s) were not alerts ({why}); so far: {}",
                self.since_log,
                self.summary()
            );
            self.logged = Some(Instant::now());
            self.since_log = 0;
        }
    }

    /// "new_report: 3, other: 1".
    pub fn summary(&self) -> String {
        self.counts
            .iter()
            .map(|(event, n)| format!("{event}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How many were skipped in all.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::Skipped;

    #[test]
    fn skipped_events_are_counted_per_name_and_bounded() {
        let mut skipped = Skipped::default();
        skipped.note("new_report", "no id");
        skipped.note("new_report", "no id");
        for i in 0..100 {
            skipped.note(&format!("e{i}"), "no id");
        }
        assert_eq!(skipped.total(), 102);
        assert!(skipped.summary().starts_with("e0: 1"));
        assert!(skipped.summary().contains("new_report: 2"));
        assert!(
            skipped.summary().contains("other: 37"),
            "{}",
            skipped.summary()
        );
    }
}
