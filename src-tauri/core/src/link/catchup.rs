//! What was missed while the link was down: the profile's `[[backfill]]` lists, fetched from their
//! [`Cursors`] after every reconnect (source `backfill`) and polled while the socket cannot be established
//! (source `poll`). Each record is classified as the event its list stands for. A list fetched for the first
//! time only sets its baseline: its records are history, not news.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::cursor::{cursor_less, Cursors, Position};
use super::events::Skipped;
use super::rest::{is_newest_first, list_items, record_key, Fetched, Rest};
use super::{Abandoned, Reporter, Target, Update};
use crate::domain::{Alert, Source};
use crate::profile::rules;
use crate::profile::{render_value, Backfill, Profile, Scope};

/// Why catching up failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatchUpError {
    /// The server refused the credentials.
    Rejected(String),
    /// A list could not be fetched: the server did not answer.
    Unreachable(String),
    /// A list could not be read: the server answered, but not what the profile expects.
    Failed(String),
    /// Nobody listens any more.
    Abandoned,
}

impl From<Abandoned> for CatchUpError {
    fn from(_: Abandoned) -> Self {
        Self::Abandoned
    }
}

/// A link's lists and where each resumes.
#[derive(Debug)]
pub struct Lists {
    profile: Arc<Profile>,
    vars: BTreeMap<String, String>,
    rest: Rest,
    cursors: Cursors,
    /// Lists whose answer did not match the profile, already said once (with what was found instead).
    noted: BTreeSet<String>,
    skipped: Skipped,
}

impl Lists {
    /// `target`'s lists, resuming from its stored cursor.
    pub fn new(target: &Target, rest: Rest) -> Self {
        Self {
            profile: Arc::clone(&target.profile),
            vars: target.vars.clone(),
            rest,
            cursors: target.cursor.clone().unwrap_or_default(),
            noted: BTreeSet::new(),
            skipped: Skipped::default(),
        }
    }

    /// Sets a variable after the link learned it (the REST base it found).
    pub fn set_var(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }

    /// Where the lists resume, and what else the link remembers of the server.
    pub fn cursors(&self) -> &Cursors {
        &self.cursors
    }

    /// Remembers the REST base found on the server (kept with the cursors).
    pub fn remember_base(&mut self, base: &str) {
        self.cursors.set_api_base(base);
    }

    /// Whether the profile has any list to catch up from.
    pub fn any(&self) -> bool {
        !self.profile.backfill.is_empty()
    }

    /// The shortest polling interval of the lists that poll, if any does.
    pub fn poll_interval(&self) -> Option<std::time::Duration> {
        self.profile
            .backfill
            .iter()
            .map(|b| b.poll_interval_secs)
            .filter(|s| *s > 0)
            .min()
            .map(std::time::Duration::from_secs)
    }

    /// Fetches every list from its cursor and reports the records as alerts with `source`, then the new
    /// cursors (after what they cover, so a crash in between re-delivers rather than skips). A list that
    /// cannot be read (an error status, not JSON, no list in the answer, records without the cursor field) fails
    /// the catch-up, naming the list and why: the caller reports a gap, never "nothing was missed".
    pub async fn catch_up(&mut self, source: Source, out: &Reporter) -> Result<(), CatchUpError> {
        let profile = Arc::clone(&self.profile);
        let before = self.cursors.clone();
        for backfill in &profile.backfill {
            let key = backfill.key();
            let position = self.cursors.get(&key).cloned();
            let (list, records) = self.fetch(backfill, position.as_ref()).await?;
            let cursor_field = match &backfill.cursor {
                Some(field) => Some(self.cursor_field(&list, field, &records)?),
                None => None,
            };
            let mut alerts = Vec::with_capacity(records.len());
            let mut newest = position
                .as_ref()
                .and_then(Position::after)
                .map(str::to_string);
            for record in records {
                if let Some(value) = cursor_field.as_ref().and_then(|f| record_key(&record, f)) {
                    if newest.as_deref().is_none_or(|n| cursor_less(n, &value)) {
                        newest = Some(value);
                    }
                }
                if let Some(mut alert) = self.alert_from_record(backfill, record) {
                    alert.source = source;
                    alerts.push(alert);
                }
            }
            if position.is_none() {
                out.send(Update::Baseline(alerts)).await?;
            } else {
                for alert in alerts {
                    out.send(Update::Alert(Box::new(alert))).await?;
                }
            }
            let position = newest.map_or(Position::Primed, Position::After);
            self.cursors.set(&key, position);
        }
        if self.cursors != before {
            out.send(Update::Cursor(self.cursors.clone())).await?;
        }
        Ok(())
    }

    /// The field the cursor advances by: the profile's, or its other spelling (`updatedAt` / `updated_at`) when
    /// the records use that one. Records that have neither cannot say where to resume: an error.
    fn cursor_field(
        &mut self,
        list: &str,
        field: &str,
        records: &[Value],
    ) -> Result<String, CatchUpError> {
        let has = |name: &str| records.iter().any(|r| record_key(r, name).is_some());
        if records.is_empty() || has(field) {
            return Ok(field.to_string());
        }
        if let Some(other) = crate::profile::spellings(field)
            .into_iter()
            .find(|other| has(other))
        {
            if self.noted.insert(format!("{list}#cursor")) {
                tracing::warn!(
                    "{list}: the records have no `{field}`; using `{other}` to resume (the profile's `cursor` does not match this server)"
                );
            }
            return Ok(other);
        }
        let fields = records
            .first()
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        Err(CatchUpError::Failed(format!(
            "cannot read list {list}: its records have no `{field}` to resume from (their fields: {fields})"
        )))
    }

    /// Fetches one list: its name for messages (`GET /api/reports`) and its records, oldest first.
    async fn fetch(
        &mut self,
        backfill: &Backfill,
        position: Option<&Position>,
    ) -> Result<(String, Vec<Value>), CatchUpError> {
        let mut vars = self.vars.clone();
        if let Some(after) = position.and_then(Position::after) {
            vars.insert("cursor".into(), after.to_string());
        }
        let scope = Scope::of_vars(&vars);
        let path = backfill
            .path
            .render_path(&scope)
            .map_err(|e| CatchUpError::Failed(format!("cannot build list path: {e}")))?;
        let list = format!("GET {path}");
        let mut url = self
            .rest
            .url(&path)
            .map_err(|e| CatchUpError::Failed(format!("cannot read list {list}: {e}")))?;
        for (key, template) in &backfill.query {
            if let Ok(value) = template.render(&scope) {
                url.query_pairs_mut().append_pair(key, &value);
            }
        }
        let answer = self.rest.get(url).await.map_err(|e| match e {
            Fetched::Rejected(reason) => CatchUpError::Rejected(reason),
            Fetched::Unreachable(message) => {
                CatchUpError::Unreachable(format!("cannot reach list {list}: {message}"))
            }
            other => CatchUpError::Failed(format!("cannot read list {list}: {}", other.message())),
        })?;
        let items = list_items(&answer, &backfill.items)
            .map_err(|e| CatchUpError::Failed(format!("cannot read list {list}: {e}")))?;
        if let Some(note) = &items.note {
            if self.noted.insert(list.clone()) {
                tracing::warn!("{list}: {note}; reading it anyway");
            }
        }
        let mut records: Vec<Value> = items.records.into_iter().cloned().collect();
        if records.len() > 1 && is_newest_first(&records) {
            records.reverse();
        }
        Ok((list, records))
    }

    /// Classifies a list's record as the event the list stands for.
    fn alert_from_record(&mut self, backfill: &Backfill, record: Value) -> Option<Alert> {
        let profile = Arc::clone(&self.profile);
        let payload = match &backfill.message {
            Some(message) => {
                let scope = Scope {
                    payload: &record,
                    vars: &self.vars,
                    record: Some(&record),
                };
                render_value(message, &scope).ok()?
            }
            None => record.clone(),
        };
        let matched = rules::find(&profile.rules, &backfill.event, &payload)?;
        if matched.rule.ignore {
            return None;
        }
        // The record stands in for the message's data: only wrap it as `$record` when the rule reads one.
        let record = matched.rule.fetch.is_some().then_some(record);
        match matched
            .rule
            .build(&profile.name, &backfill.event, payload, record, &self.vars)
        {
            Ok(alert) => Some(alert),
            Err(e) => {
                self.skipped.note(&backfill.event, &e.to_string());
                None
            }
        }
    }
}
