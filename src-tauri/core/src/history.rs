//! Applies what a [`Supervisor`](crate::supervisor::Supervisor) reports to the alert history, and says what is
//! news: the one place where "exactly once" is decided, shared by the CLI and the desktop app.
//!
//! Alerts are written before anyone is told (write before notify): a batch of updates is recorded in one
//! transaction on a blocking thread, then only new alerts and real changes to known ones come back. Exact
//! duplicates (a record re-delivered by backfill, polling or a replay) stop here.

use std::sync::{Arc, Mutex};

use crate::alert::Alert;
use crate::store::{Change, Recorded, Store, StoreError};
use crate::supervisor::{LinkState, Update};

/// What a batch of updates means once the history has seen it.
#[derive(Debug, Clone)]
pub enum Delivered {
    /// The link changed state.
    State(LinkState),
    /// An alert not seen before.
    New(Box<Alert>),
    /// A known record changed (its new version).
    Updated(Box<Alert>, Box<Change>),
    /// The link was down from..to and the backend cannot tell what was missed.
    Gap {
        /// RFC 3339.
        from: String,
        /// RFC 3339.
        to: String,
    },
}

impl Delivered {
    /// What a batch means when the history cannot be written: every alert is news (shown, not kept).
    pub fn unrecorded(batch: Vec<Update>) -> Vec<Self> {
        batch
            .into_iter()
            .filter_map(|u| match u {
                Update::State(s) => Some(Self::State(s)),
                Update::Alert(a) => Some(Self::New(a)),
                Update::Gap { from, to } => Some(Self::Gap { from, to }),
                Update::Baseline(_) | Update::Cursor(_) => None,
            })
            .collect()
    }
}

/// One server's view of the shared history.
#[derive(Debug, Clone)]
pub struct History {
    store: Arc<Mutex<Store>>,
    server: String,
    profile: String,
}

impl History {
    /// The history of `server` as seen through `profile`.
    pub fn new(store: Arc<Mutex<Store>>, server: &str, profile: &str) -> Self {
        Self {
            store,
            server: server.to_string(),
            profile: profile.to_string(),
        }
    }

    /// The cursor stored by the last run, to pass to the supervisor.
    pub fn cursor(&self) -> Result<Option<String>, StoreError> {
        lock(&self.store).cursor(&self.server, &self.profile)
    }

    /// Applies the retention setting: deletes alerts older than `max_age` and the oldest beyond `max_count`.
    pub async fn prune(
        &self,
        max_age: std::time::Duration,
        max_count: usize,
    ) -> Result<u64, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || lock(&store).prune(max_age, max_count))
            .await
            .map_err(|e| StoreError::Sqlite(format!("history task failed: {e}")))?
    }

    /// Marks an alert of this server acknowledged (and read); returns it as stored.
    pub async fn acknowledge(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        let (this, id) = (self.clone(), id.to_string());
        tokio::task::spawn_blocking(move || {
            let store = lock(&this.store);
            store.acknowledge(Some(&this.server), &id)?;
            Ok(store.get(&this.server, &id)?.map(|stored| stored.alert))
        })
        .await
        .map_err(|e| StoreError::Sqlite(format!("history task failed: {e}")))?
    }

    /// Records a batch (in one transaction) and returns what is news, in order.
    pub async fn apply(&self, batch: Vec<Update>) -> Result<Vec<Delivered>, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.apply_blocking(batch))
            .await
            .map_err(|e| StoreError::Sqlite(format!("history task failed: {e}")))?
    }

    /// [`History::apply`] on the calling thread.
    pub fn apply_blocking(&self, batch: Vec<Update>) -> Result<Vec<Delivered>, StoreError> {
        let store = lock(&self.store);
        let alerts: Vec<Alert> = batch
            .iter()
            .filter_map(|u| match u {
                Update::Alert(a) => Some((**a).clone()),
                _ => None,
            })
            .collect();
        let mut recorded = store.record_many(&self.server, &alerts)?.into_iter();
        let mut out = Vec::with_capacity(batch.len());
        for update in batch {
            match update {
                Update::State(state) => out.push(Delivered::State(state)),
                Update::Alert(alert) => match recorded.next() {
                    Some(Recorded::New) => out.push(Delivered::New(alert)),
                    Some(Recorded::Updated(change)) => {
                        out.push(Delivered::Updated(alert, Box::new(change)));
                    }
                    Some(Recorded::Duplicate) | None => {}
                },
                Update::Baseline(alerts) => {
                    // Records that predate the first connection: keep them, already read, announce nothing.
                    for (alert, result) in
                        alerts.iter().zip(store.record_many(&self.server, &alerts)?)
                    {
                        if matches!(result, Recorded::New) {
                            store.mark_read(Some(&self.server), &alert.id)?;
                        }
                    }
                }
                Update::Cursor(value) => store.set_cursor(&self.server, &self.profile, &value)?,
                Update::Gap { from, to } => {
                    let id = store.open_gap(
                        &self.server,
                        &from,
                        "offline; the backend cannot tell what was missed",
                    )?;
                    store.close_gap(id, &to)?;
                    out.push(Delivered::Gap { from, to });
                }
            }
        }
        Ok(out)
    }
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    // A panic while holding the lock leaves SQLite consistent (transactions roll back): keep going.
    store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::profile::Profile;

    fn alert(id: &str, title: &str) -> Alert {
        let profile = Profile::load("service-calls").unwrap();
        let payload = json!({"id": id, "title": title, "priority": "high"});
        profile.rules[0].build(
            "service-calls",
            "call_created",
            payload,
            None,
            &BTreeMap::new(),
        )
    }

    #[test]
    fn duplicates_stop_here_and_changes_come_through() {
        let store = Arc::new(Mutex::new(Store::open_in_memory().unwrap()));
        let history = History::new(store.clone(), "http://a", "service-calls");
        let a = alert("C-1", "Jam");
        let out = history
            .apply_blocking(vec![
                Update::State(LinkState::Live),
                Update::Alert(Box::new(a.clone())),
                Update::Alert(Box::new(a.clone())),
                Update::Alert(Box::new(alert("C-1", "Jam again"))),
                Update::Cursor("{\"0\":\"5\"}".into()),
            ])
            .unwrap();
        let kinds: Vec<_> = out
            .iter()
            .map(|d| match d {
                Delivered::State(_) => "state",
                Delivered::New(_) => "new",
                Delivered::Updated(..) => "updated",
                Delivered::Gap { .. } => "gap",
            })
            .collect();
        assert_eq!(kinds, ["state", "new", "updated"]);
        assert_eq!(history.cursor().unwrap().as_deref(), Some("{\"0\":\"5\"}"));
    }

    #[test]
    fn baselines_are_kept_read_and_silent_and_gaps_are_stored() {
        let store = Arc::new(Mutex::new(Store::open_in_memory().unwrap()));
        let history = History::new(store.clone(), "http://a", "service-calls");
        let out = history
            .apply_blocking(vec![
                Update::Baseline(vec![alert("C-1", "Old"), alert("C-2", "Older")]),
                Update::Gap {
                    from: "2026-11-24T14:02:00Z".into(),
                    to: "2026-11-24T14:09:00Z".into(),
                },
            ])
            .unwrap();
        assert!(matches!(out.as_slice(), [Delivered::Gap { .. }]));
        let store = store.lock().unwrap();
        assert_eq!(
            store
                .unread_counts()
                .unwrap()
                .get("http://a")
                .copied()
                .unwrap_or(0),
            0
        );
        assert_eq!(
            store.list(&crate::store::Query::default()).unwrap().len(),
            2
        );
        assert_eq!(store.gaps(None).unwrap().len(), 1);
    }
}
