//! What was missed while the link was down: the profile's `[[backfill]]` lists, fetched from their
//! [`Cursors`] after every reconnect (source `backfill`) and polled while the socket cannot be established
//! (source `poll`). Each record is classified as the event its list stands for. A list fetched for the first
//! time only sets its baseline: its records are history, not news.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::cursor::{cursor_less, Cursors, Position};
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
    /// A list could not be fetched.
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
}

impl Lists {
    /// `target`'s lists, resuming from its stored cursor.
    pub fn new(target: &Target, rest: Rest) -> Self {
        Self {
            profile: Arc::clone(&target.profile),
            vars: target.vars.clone(),
            rest,
            cursors: target.cursor.clone().unwrap_or_default(),
        }
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
    /// cursors (after what they cover, so a crash in between re-delivers rather than skips).
    pub async fn catch_up(&mut self, source: Source, out: &Reporter) -> Result<(), CatchUpError> {
        let profile = Arc::clone(&self.profile);
        let before = self.cursors.clone();
        for backfill in &profile.backfill {
            let key = backfill.key();
            let position = self.cursors.get(&key).cloned();
            let records = self.fetch(backfill, position.as_ref()).await?;
            let mut alerts = Vec::with_capacity(records.len());
            let mut newest = position
                .as_ref()
                .and_then(Position::after)
                .map(str::to_string);
            for record in records {
                if let Some(value) = backfill
                    .cursor
                    .as_ref()
                    .and_then(|f| record_key(&record, f))
                {
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

    async fn fetch(
        &self,
        backfill: &Backfill,
        position: Option<&Position>,
    ) -> Result<Vec<Value>, CatchUpError> {
        let mut vars = self.vars.clone();
        if let Some(after) = position.and_then(Position::after) {
            vars.insert("cursor".into(), after.to_string());
        }
        let scope = Scope::of_vars(&vars);
        let path = backfill
            .path
            .render(&scope)
            .map_err(|e| CatchUpError::Failed(e.to_string()))?;
        let mut url = self
            .rest
            .url(&path)
            .map_err(|e| CatchUpError::Failed(e.to_string()))?;
        for (key, template) in &backfill.query {
            if let Ok(value) = template.render(&scope) {
                url.query_pairs_mut().append_pair(key, &value);
            }
        }
        let answer = self.rest.get(url).await.map_err(|e| match e {
            Fetched::Rejected(reason) => CatchUpError::Rejected(reason),
            Fetched::Failed(message) => CatchUpError::Failed(message),
        })?;
        let mut records: Vec<Value> = list_items(&answer, &backfill.items)
            .into_iter()
            .cloned()
            .collect();
        if records.len() > 1 && is_newest_first(&records) {
            records.reverse();
        }
        Ok(records)
    }

    /// Classifies a list's record as the event the list stands for.
    fn alert_from_record(&self, backfill: &Backfill, record: Value) -> Option<Alert> {
        let profile = &self.profile;
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
        Some(
            matched
                .rule
                .build(&profile.name, &backfill.event, payload, record, &self.vars),
        )
    }
}
