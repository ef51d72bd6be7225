//! Responding to an alert: acknowledging it, or a status response its profile declares ("En route"). Either is
//! kept in the history at once (which stops its repeats) and, where the profile says how, queued in the
//! history's outbox; the engine sends what is due in tasks it owns, and retries with backoff until the server
//! confirms, across outages and restarts (see [`crate::store::outbox`]).

use std::collections::HashSet;

use tokio::time::Instant;

use super::actor::{Actor, TaskEnd};
use super::error::EngineError;
use super::view::{Notice, NoticeLevel};
use crate::alerting::notify::AlertKey;
use crate::domain::{ServerId, Timestamp};
use crate::link::writeback::{outcome, write_back_to};
use crate::store::outbox::ACKNOWLEDGE;
use crate::store::{Outgoing, Sent, Store, StoreError};

/// Responses sent at once, at most.
const SEND_AT_ONCE: usize = 16;

/// How long a response waits while its server is not signed in (it is sent as soon as the link is back).
const NO_LINK_WAIT: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The outbox as the engine works it: what is being sent, and when to look next.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    /// Responses whose attempt is under way.
    sending: HashSet<i64>,
    /// When to look for due responses next (`None`: nothing waits).
    pub(super) due: Option<Instant>,
}

/// The end of one attempt, as its task reports it.
pub(super) struct Attempt {
    seq: i64,
    server: ServerId,
    id: String,
    title: String,
    label: String,
    attempts: u32,
    sent: Sent,
}

impl Actor {
    /// Acknowledges an alert here and, where its profile says how, on the server.
    pub(super) async fn acknowledge(
        &mut self,
        server: &ServerId,
        id: &str,
    ) -> Result<(), EngineError> {
        self.respond(server, id, ACKNOWLEDGE).await
    }

    /// Makes response `name` to an alert: acknowledged here at once, and queued for the server where the
    /// profile has a request for it. Returns the response's label.
    pub(super) async fn respond(
        &mut self,
        server: &ServerId,
        id: &str,
        name: &str,
    ) -> Result<(), EngineError> {
        let profile = self.links.get(server).map(|l| l.target.profile.clone());
        let unknown = |profile: &crate::profile::Profile| EngineError::UnknownResponse {
            profile: profile.name.clone(),
            response: name.to_string(),
            offered: profile
                .responses
                .iter()
                .map(|r| r.name.as_str())
                .chain([ACKNOWLEDGE])
                .collect::<Vec<_>>()
                .join(", "),
        };
        let (label, kinds) = match (name, &profile) {
            (ACKNOWLEDGE, _) => ("Acknowledge".to_string(), Vec::new()),
            (_, None) => return Err(EngineError::UnknownServer(server.clone())),
            (_, Some(profile)) => profile
                .responses
                .iter()
                .find(|r| r.name == name)
                .map(|r| (r.label.clone(), r.kinds.clone()))
                .ok_or_else(|| unknown(profile))?,
        };
        let queued = profile.as_ref().is_some_and(|p| p.call(name).is_some());
        let not_for_kind = profile.as_deref().map(unknown);
        let (s, i, n, l) = (server.clone(), id.to_string(), name.to_string(), label);
        self.history
            .call(move |st| {
                let stored = st.get(&s, &i)?.ok_or_else(|| EngineError::UnknownAlert {
                    server: s.clone(),
                    id: i.clone(),
                })?;
                if !kinds.is_empty() && !kinds.contains(&stored.alert.fields.kind) {
                    return Err(not_for_kind.unwrap_or(EngineError::UnknownServer(s)));
                }
                if queued {
                    st.queue_response(Some(&s), &i, &n, &l)?;
                } else {
                    st.acknowledge(Some(&s), &i)?;
                }
                Ok(())
            })
            .await?;
        if let Some(policy) = self.policy.as_mut() {
            policy.on_acknowledged(&AlertKey::new(server, id));
        }
        self.pending.alerts.insert((server.clone(), id.to_string()));
        tracing::info!(server = %server, id, response = name, queued, "responded");
        if queued {
            self.outbox.due = Some(Instant::now());
        }
        Ok(())
    }

    /// What the user calls response `name` on `server` (its profile's label; the name when unknown).
    pub(super) fn response_label(&self, server: &ServerId, name: &str) -> String {
        self.links
            .get(server)
            .and_then(|l| l.target.profile.responses.iter().find(|r| r.name == name))
            .map_or_else(|| name.to_string(), |r| r.label.clone())
    }

    /// Looks for due responses and sends each (once at a time) whose server is signed in; then says when to
    /// look next.
    pub(super) async fn work_outbox(&mut self) {
        self.outbox.due = None;
        let due = self
            .history
            .call(|st| st.due_responses(Timestamp::now(), SEND_AT_ONCE * 2))
            .await;
        let due = match due {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("cannot read the outbox: {e}");
                return;
            }
        };
        let mut without_link = Vec::new();
        for outgoing in due {
            if self.outbox.sending.len() >= SEND_AT_ONCE {
                break;
            }
            if self.outbox.sending.contains(&outgoing.seq) {
                continue;
            }
            match self.links.get(&outgoing.server) {
                Some(link) => {
                    let target = link.target.clone();
                    self.outbox.sending.insert(outgoing.seq);
                    let http = target.net.http();
                    self.tasks.spawn(async move {
                        let Outgoing {
                            seq,
                            server,
                            name,
                            label,
                            attempts,
                            alert,
                        } = outgoing;
                        let result = write_back_to(&http, &target, &alert, &name).await;
                        TaskEnd::Response(Box::new(Attempt {
                            seq,
                            server,
                            id: alert.id,
                            title: alert.fields.title,
                            label,
                            attempts,
                            sent: outcome(&result, attempts),
                        }))
                    });
                }
                None => without_link.push(outgoing.seq),
            }
        }
        if !without_link.is_empty() {
            let later = Timestamp::now().plus(NO_LINK_WAIT);
            let _ = self
                .history
                .call(move |st| {
                    for seq in without_link {
                        st.postpone_response(seq, later)?;
                    }
                    Ok::<_, StoreError>(())
                })
                .await;
        }
        self.schedule_outbox().await;
    }

    /// Sets when to look at the outbox next: when its next response is due (not sooner than one is sent).
    pub(super) async fn schedule_outbox(&mut self) {
        let next = self.history.call(Store::next_response_at).await;
        let Ok(Some(next)) = next else {
            return;
        };
        let wait = next
            .since(Timestamp::now())
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_millis(200));
        let at = Instant::now() + wait;
        self.outbox.due = Some(self.outbox.due.map_or(at, |due| due.min(at)));
    }

    /// A server's link is back: what waits for it is sent now.
    pub(super) fn retry_responses(&mut self, server: &ServerId) {
        let s = server.clone();
        self.history.submit(move |st| {
            if let Err(e) = st.retry_responses(&s) {
                tracing::warn!("cannot reschedule the outbox: {e}");
            }
        });
        self.outbox.due = Some(Instant::now());
    }

    pub(super) async fn on_response(&mut self, attempt: Attempt) {
        self.outbox.sending.remove(&attempt.seq);
        let (seq, sent) = (attempt.seq, attempt.sent.clone());
        if let Err(e) = self
            .history
            .call(move |st| st.response_sent(seq, &sent))
            .await
        {
            tracing::warn!("cannot record a response in the outbox: {e}");
        }
        let Attempt {
            server,
            id,
            title,
            label,
            attempts,
            sent,
            ..
        } = attempt;
        self.pending.alerts.insert((server.clone(), id.clone()));
        match sent {
            Sent::Confirmed => {
                tracing::info!(server = %server, id, response = %label, "the server took the response");
                if attempts > 0 {
                    let notice = Notice::ResponseDelivered {
                        server,
                        id,
                        title,
                        response: label,
                    };
                    self.notice(NoticeLevel::Info, notice);
                }
            }
            Sent::Retry { error, .. } => {
                tracing::warn!(server = %server, id, response = %label, "not sent yet, will retry: {error}");
                if attempts == 0 {
                    let notice = Notice::ResponseDelayed {
                        server,
                        id,
                        title,
                        response: label,
                        message: error,
                    };
                    self.notice(NoticeLevel::Warning, notice);
                }
            }
            Sent::Failed { error } => {
                tracing::warn!(server = %server, id, response = %label, "the server refused the response: {error}");
                let notice = Notice::WriteBackFailed {
                    server,
                    id,
                    title,
                    response: label,
                    message: error,
                };
                self.notice(NoticeLevel::Warning, notice);
            }
        }
        self.schedule_outbox().await;
    }
}
