//! Acknowledging an alert: in the history (which stops its repeats) and, where the profile says how, on the
//! server, in a write-back task the engine owns (shutdown waits for it, within a bound).

use super::actor::{Actor, TaskEnd};
use super::error::EngineError;
use super::view::{Notice, NoticeLevel};
use crate::alerting::notify::AlertKey;
use crate::domain::ServerId;
use crate::link::writeback::write_back_to;

impl Actor {
    pub(super) async fn acknowledge(
        &mut self,
        server: &ServerId,
        id: &str,
    ) -> Result<(), EngineError> {
        let (s, i) = (server.clone(), id.to_string());
        let stored = self
            .history
            .call(move |st| {
                st.acknowledge(Some(&s), &i)?;
                st.get(&s, &i)
            })
            .await?;
        if let Some(policy) = self.policy.as_mut() {
            policy.on_acknowledged(&AlertKey::new(server, id));
        }
        self.pending.alerts.insert((server.clone(), id.to_string()));
        tracing::info!(server = %server, id, "acknowledged");
        let (Some(stored), Some(link)) = (stored, self.links.get(server)) else {
            return Ok(());
        };
        if link.target.profile.acknowledge.is_none() {
            return Ok(());
        }
        let (http, target, server) = (self.http.clone(), link.target.clone(), server.clone());
        let alert = stored.alert;
        self.tasks.spawn(async move {
            let result = write_back_to(&http, &target, &alert)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            TaskEnd::WriteBack {
                server,
                id: alert.id,
                title: alert.fields.title,
                result,
            }
        });
        Ok(())
    }

    pub(super) fn on_write_back(
        &mut self,
        server: ServerId,
        id: String,
        title: String,
        result: Result<(), String>,
    ) {
        match result {
            Ok(()) => {
                tracing::info!(server = %server, id, "the server was told of the acknowledgement");
            }
            Err(message) => {
                tracing::warn!(server = %server, id, "acknowledged here, but the server was not told: {message}");
                self.notice(
                    NoticeLevel::Warning,
                    Notice::WriteBackFailed {
                        server,
                        id,
                        title,
                        message,
                    },
                );
            }
        }
    }
}
