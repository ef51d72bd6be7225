//! What the views are told: a snapshot when a UI subscribes (and after changes that touch many rows), batches of
//! what changed at most every [`super::BATCH_EVERY`], notices, and the detail pane.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::actor::Actor;
use super::error::EngineError;
use super::view::{
    AlertDetail, AlertRow, DeskEvent, NotificationsRequest, NotificationsView, ResponseChoice,
    ServerView, View,
};
use super::{AlertKey, Sink};
use crate::alerting::policy::{Indicator, Now};
use crate::domain::{ServerId, Timestamp};
use crate::store::{Store, StoreError};

impl Actor {
    pub(super) async fn subscribe(&mut self, sink: Arc<dyn Sink>) {
        // A new view: it asks for its window after the snapshot.
        self.list.reset();
        match self.snapshot().await {
            Ok(snapshot) => {
                sink.send(&DeskEvent::Snapshot(snapshot));
                for notice in self.unseen.drain(..) {
                    sink.send(&notice);
                }
            }
            Err(e) => tracing::error!("cannot read the history for the window: {e}"),
        }
        self.ui = Some(sink);
    }

    /// Sends `event` to the UI and the shell. Notices said before a UI subscribed are kept for it.
    pub(super) fn emit(&mut self, event: &DeskEvent) {
        if let Some(ui) = &self.ui {
            if !ui.send(event) {
                self.ui = None;
            }
        } else if matches!(event, DeskEvent::Notice { .. }) && self.unseen.len() < 10 {
            self.unseen.push(event.clone());
        }
        if let Some(shell) = &self.shell {
            shell.send(event);
        }
    }

    fn draws_views(&self) -> bool {
        self.sinks().iter().any(|s| s.draws_views())
    }

    pub(super) fn set_notifications(&mut self, request: NotificationsRequest) {
        let Some(policy) = self.policy.as_mut() else {
            return;
        };
        match request {
            NotificationsRequest::Pause { minutes } => {
                let until =
                    minutes.map(|m| Instant::now() + Duration::from_secs(u64::from(m) * 60));
                self.paused_until = minutes
                    .map(|m| Timestamp::now().plus(chrono::TimeDelta::minutes(i64::from(m))));
                policy.pause(until);
                tracing::info!(?minutes, "notifications paused");
            }
            NotificationsRequest::Resume => {
                policy.resume();
                self.paused_until = None;
                tracing::info!("notifications resumed");
            }
            NotificationsRequest::Silence { on } => {
                policy.set_silence_everything(on);
                tracing::info!(on, "silence everything");
            }
        }
        self.pending.servers = true;
    }

    fn notifications_view(&self) -> NotificationsView {
        let Some(policy) = &self.policy else {
            return NotificationsView::Normal;
        };
        match policy.indicator(Now::current()) {
            Indicator::Normal => NotificationsView::Normal,
            Indicator::QuietHours { until } => NotificationsView::QuietHours {
                until: until.format("%H:%M").to_string(),
            },
            Indicator::Paused { until } => NotificationsView::Paused {
                until: until.and(self.paused_until),
            },
            Indicator::SilenceEverything => NotificationsView::Silenced,
        }
    }

    pub(super) async fn detail(
        &self,
        server: ServerId,
        id: String,
    ) -> Result<AlertDetail, EngineError> {
        let profile = self.links.get(&server).map(|l| l.target.profile.clone());
        let writes_back = profile.as_ref().is_some_and(|p| p.acknowledge.is_some());
        let (s, i) = (server.clone(), id.clone());
        let (stored, trail) = self
            .history
            .call(move |st| Ok::<_, StoreError>((st.get(&s, &i)?, st.trail(&s, &i)?)))
            .await?;
        let stored = stored.ok_or(EngineError::UnknownAlert { server, id })?;
        let kind = stored.alert.fields.kind;
        let responses = profile.map_or_else(Vec::new, |p| {
            p.responses
                .iter()
                .filter(|r| r.offered_for(kind))
                .map(|r| ResponseChoice {
                    name: r.name.clone(),
                    label: r.label.clone(),
                })
                .collect()
        });
        let (event, source) = (stored.alert.event.clone(), stored.alert.source);
        let payload =
            serde_json::to_string_pretty(&stored.alert.data).unwrap_or_else(|_| String::new());
        let timeline = stored.timeline.clone();
        Ok(AlertDetail {
            alert: stored.into(),
            event,
            source,
            timeline,
            trail,
            payload,
            writes_back,
            responses,
        })
    }

    /// Everything but the list's rows: the view asks for its window of them ([`super::ListRequest`]).
    async fn snapshot(&self) -> Result<View, StoreError> {
        let counts = self.history.call(Store::unread_counts).await?;
        Ok(View {
            servers: self.server_views(&counts),
            changed: Vec::new(),
            list: None,
            unread: counts.values().sum(),
            notifications: self.notifications_view(),
            notify_failure: self.notify_failure.clone(),
            restoring: self.restoring,
        })
    }

    fn server_views(&self, counts: &BTreeMap<ServerId, u64>) -> Vec<ServerView> {
        self.links
            .values()
            .map(|l| {
                let mut view = l.view.clone();
                view.unread = counts.get(&view.server).copied().unwrap_or(0);
                view
            })
            .collect()
    }

    pub(super) async fn flush(&mut self) {
        self.last_flush = Instant::now();
        let pending = std::mem::take(&mut self.pending);
        if !self.draws_views() {
            return;
        }
        self.list
            .keep_unrecorded(pending.unrecorded.iter().cloned());
        let list_changed = pending.reset
            || pending.gaps
            || pending.list
            || !pending.alerts.is_empty()
            || !pending.unrecorded.is_empty();
        // Only a window held back for a burst: nothing to say unless it goes now.
        let only_list = pending.list
            && !(pending.reset
                || pending.gaps
                || pending.servers
                || !pending.alerts.is_empty()
                || !pending.unrecorded.is_empty());
        if pending.reset {
            match self.snapshot().await {
                Ok(mut snapshot) => {
                    snapshot.list = self.list_again().await;
                    self.emit(&DeskEvent::Snapshot(snapshot));
                }
                Err(e) => tracing::error!("cannot read the history for the window: {e}"),
            }
            return;
        }
        let keys: Vec<_> = pending.alerts.into_iter().collect();
        let read = self
            .history
            .call(move |st| {
                let mut rows = Vec::with_capacity(keys.len());
                for (server, id) in &keys {
                    if let Some(stored) = st.get(server, id)? {
                        rows.push(AlertRow::from(stored));
                    }
                }
                Ok::<_, StoreError>((rows, st.unread_counts()?))
            })
            .await;
        let (rows, counts) = match read {
            Ok(read) => read,
            Err(e) => {
                tracing::error!("cannot read the history for the window: {e}");
                (Vec::new(), BTreeMap::new())
            }
        };
        for row in &rows {
            self.note_latency(row);
        }
        let changed = rows
            .iter()
            .chain(&pending.unrecorded)
            .map(|row| AlertKey {
                server: row.server.clone(),
                id: row.id.clone(),
            })
            .collect();
        let list = if list_changed {
            self.list_again().await
        } else {
            None
        };
        if only_list && list.is_none() {
            return;
        }
        let batch = View {
            changed,
            servers: self.server_views(&counts),
            list,
            unread: counts.values().sum(),
            notifications: self.notifications_view(),
            notify_failure: self.notify_failure.clone(),
            restoring: self.restoring,
        };
        self.emit(&DeskEvent::Batch(batch));
    }

    /// A new alert's delivery latency: our receive time minus the backend's own time for the record.
    fn note_latency(&mut self, row: &AlertRow) {
        if row.life.update_count > 0 {
            return;
        }
        let Some(server_time) = row.server_time else {
            return;
        };
        let Ok(ms) = u64::try_from(row.received_at.since(server_time).num_milliseconds()) else {
            return; // the server's clock is ahead of ours: no honest figure
        };
        if ms > 3_600_000 {
            return; // a backfilled or old record, not a delivery time
        }
        if let Some(link) = self.links.get_mut(&row.server) {
            link.view.latency_ms = Some(ms);
        }
    }
}
