//! Applying a link's batch of updates: the one place where "exactly once" is decided.
//!
//! A batch is recorded in one transaction (alerts, baselines, the cursor and gaps: all or none), then only new
//! alerts and real changes to known ones come back as [`Delivered`] items, in order. Exact duplicates (a record
//! re-delivered by backfill, polling or a replay) stop here.

use rusqlite::params;

use super::record::{record_in, Change, Recorded};
use super::{Store, StoreError};
use crate::domain::{Alert, ServerId, Timestamp};
use crate::link::{LinkState, Update};

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
        /// When it went down.
        from: Timestamp,
        /// When it was back.
        to: Timestamp,
        /// Why nothing could be caught up.
        reason: String,
    },
    /// The profile does not fit what the server answers (see [`Update::Problem`]).
    Problem(String),
}

impl Delivered {
    /// What a batch means when the history cannot be written: every alert is news (shown, not kept).
    pub fn unrecorded(batch: Vec<Update>) -> Vec<Self> {
        batch
            .into_iter()
            .filter_map(|u| match u {
                Update::State(s) => Some(Self::State(s)),
                Update::Alert(a) => Some(Self::New(a)),
                Update::Gap { from, to, reason } => Some(Self::Gap { from, to, reason }),
                Update::Problem(message) => Some(Self::Problem(message)),
                Update::Baseline(_) | Update::Cursor(_) => None,
            })
            .collect()
    }

    /// The alert this item carries, if it carries one.
    pub fn alert(&self) -> Option<&Alert> {
        match self {
            Self::New(alert) | Self::Updated(alert, _) => Some(alert),
            Self::State(_) | Self::Gap { .. } | Self::Problem(_) => None,
        }
    }
}

/// A batch the history could not record, handed back whole so nothing in it is lost.
#[derive(Debug)]
pub struct Unapplied {
    /// Why.
    pub error: StoreError,
    /// The batch, nothing of it lost.
    pub batch: Vec<Update>,
}

impl Store {
    /// Records `server`'s batch (seen through `profile`) in one transaction and returns what is news, in order:
    /// updated alerts as their merged versions. On failure nothing is written and the batch comes back in the
    /// error (its alerts perhaps already merged with what the history knew, which is what they mean).
    pub fn apply(
        &self,
        server: &ServerId,
        profile: &str,
        mut batch: Vec<Update>,
    ) -> Result<Vec<Delivered>, Box<Unapplied>> {
        let closing = &self.closing;
        let recorded = self.write(|tx| {
            let mut results = Vec::with_capacity(batch.len());
            for update in &mut batch {
                results.push(match update {
                    Update::Alert(alert) => Some(record_in(tx, server, alert, closing)?),
                    Update::Baseline(alerts) => {
                        // Records that predate the first connection: keep them, already read, announce nothing.
                        let now = Timestamp::now();
                        for alert in alerts {
                            if record_in(tx, server, alert, closing)? == Recorded::New {
                                tx.prepare_cached(
                                    "UPDATE alerts SET read_at = ?3 WHERE server = ?1 AND id = ?2",
                                )?
                                .execute(params![server, alert.id, now])?;
                            }
                        }
                        None
                    }
                    Update::Cursor(cursors) => {
                        tx.prepare_cached(
                            "INSERT INTO cursors (server, profile, value, updated_at) VALUES (?1, ?2, ?3, ?4) \
                             ON CONFLICT (server) DO UPDATE SET profile = excluded.profile, \
                             value = excluded.value, updated_at = excluded.updated_at",
                        )?
                        .execute(params![server, profile, cursors.to_stored(), Timestamp::now()])?;
                        None
                    }
                    Update::Gap { from, to, reason } => {
                        tx.prepare_cached(
                            "INSERT INTO gaps (server, from_ts, to_ts, note) VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![server, &*from, &*to, &*reason])?;
                        None
                    }
                    Update::State(_) | Update::Problem(_) => None,
                });
            }
            Ok(results)
        });
        let recorded = match recorded {
            Ok(recorded) => recorded,
            Err(error) => return Err(Box::new(Unapplied { error, batch })),
        };
        let mut out = Vec::with_capacity(batch.len());
        for (update, result) in batch.into_iter().zip(recorded) {
            match (update, result) {
                (Update::State(state), _) => out.push(Delivered::State(state)),
                (Update::Alert(alert), Some(Recorded::New)) => out.push(Delivered::New(alert)),
                (Update::Alert(alert), Some(Recorded::Updated(change))) => {
                    out.push(Delivered::Updated(alert, Box::new(change)));
                }
                (Update::Gap { from, to, reason }, _) => {
                    out.push(Delivered::Gap { from, to, reason });
                }
                (Update::Problem(message), _) => out.push(Delivered::Problem(message)),
                _ => {}
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::link::cursor::{Cursors, Position};
    use crate::profile::Profile;
    use crate::store::Query;

    fn alert(id: &str, title: &str) -> Alert {
        let profile = Profile::load("service-calls").unwrap();
        let payload = json!({"id": id, "title": title, "priority": "high"});
        profile.rules[0]
            .build(
                "service-calls",
                "call_created",
                payload,
                None,
                &BTreeMap::new(),
            )
            .unwrap()
    }

    fn server() -> ServerId {
        ServerId::from_stored("http://a")
    }

    #[test]
    fn duplicates_stop_here_and_changes_come_through() {
        let store = Store::open_in_memory().unwrap();
        let a = alert("C-1", "Jam");
        let mut cursors = Cursors::default();
        cursors.set("/api/calls", Position::After("5".into()));
        let out = store
            .apply(
                &server(),
                "service-calls",
                vec![
                    Update::State(LinkState::Live),
                    Update::Alert(Box::new(a.clone())),
                    Update::Alert(Box::new(a.clone())),
                    Update::Alert(Box::new(alert("C-1", "Jam again"))),
                    Update::Cursor(cursors.clone()),
                ],
            )
            .unwrap();
        let kinds: Vec<_> = out
            .iter()
            .map(|d| match d {
                Delivered::State(_) => "state",
                Delivered::New(_) => "new",
                Delivered::Updated(..) => "updated",
                Delivered::Gap { .. } => "gap",
                Delivered::Problem(_) => "problem",
            })
            .collect();
        assert_eq!(kinds, ["state", "new", "updated"]);
        let stored = store.cursor(&server(), "service-calls").unwrap().unwrap();
        assert_eq!(Cursors::from_stored(&stored, &[]), Some(cursors));
    }

    #[test]
    fn baselines_are_kept_read_and_silent_and_gaps_are_stored() {
        let store = Store::open_in_memory().unwrap();
        let out = store
            .apply(
                &server(),
                "service-calls",
                vec![
                    Update::Baseline(vec![alert("C-1", "Old"), alert("C-2", "Older")]),
                    Update::Gap {
                        from: Timestamp::parse("2026-11-24T14:02:00Z").unwrap(),
                        to: Timestamp::parse("2026-11-24T14:09:00Z").unwrap(),
                        reason: "no list to catch up from".into(),
                    },
                ],
            )
            .unwrap();
        assert!(matches!(out.as_slice(), [Delivered::Gap { .. }]));
        assert!(store.unread_counts().unwrap().is_empty());
        assert_eq!(store.list(&Query::default()).unwrap().len(), 2);
        let gaps = store.gaps(None).unwrap();
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].note, "no list to catch up from");
    }

    #[test]
    fn a_batch_is_one_transaction_all_or_nothing() {
        let store = Store::open_in_memory().unwrap();
        // A table the batch writes to is gone: the whole batch fails, nothing of it is kept, and it comes back.
        store.conn.execute_batch("DROP TABLE gaps").unwrap();
        let batch = vec![
            Update::Alert(Box::new(alert("C-1", "Jam"))),
            Update::Baseline(vec![alert("C-2", "Old")]),
            Update::Gap {
                from: Timestamp::now(),
                to: Timestamp::now(),
                reason: String::new(),
            },
        ];
        let failed = store.apply(&server(), "service-calls", batch).unwrap_err();
        assert_eq!(failed.batch.len(), 3, "the batch is handed back");
        assert!(
            store.list(&Query::default()).unwrap().is_empty(),
            "nothing of a failed batch is written"
        );
    }
}
