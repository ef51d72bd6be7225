//! One burst of link updates on its way to the user: recorded in the history (one transaction per server),
//! then each delivered item goes to the policy (which notifies), to speech, to every sink in order, and is queued
//! for the views. Write before notify: nothing is told before the history has it, and a history that fails
//! still lets every alert through (shown and notified, not kept), said once.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::actor::Actor;
use super::view::{AlertRow, DeskEvent, Notice, NoticeLevel};
use crate::alerting::dbus::NotifierEvent;
use crate::alerting::notify::{ACTION_ACKNOWLEDGE, ACTION_RESPOND, ACTION_SIGN_IN};
use crate::alerting::policy::{Action, Now, Outcome as Notified};
use crate::domain::{Priority, ServerId, Timestamp};
use crate::link::{LinkState, Update};
use crate::store::Delivered;

impl Actor {
    pub(super) async fn on_updates(&mut self, batch: Vec<(ServerId, Update)>) {
        let mut per_link: BTreeMap<ServerId, Vec<Update>> = BTreeMap::new();
        for (server, update) in batch {
            per_link.entry(server).or_default().push(update);
        }
        for (server, updates) in per_link {
            let Some(link) = self.links.get(&server) else {
                continue; // signed out meanwhile
            };
            let profile = link.target.profile.name.clone();
            if updates.iter().any(|u| matches!(u, Update::Baseline(_))) {
                self.pending.reset = true;
            }
            // The REST base the link found: write-backs go there too.
            let found = updates.iter().rev().find_map(|u| match u {
                Update::Cursor(cursors) => cursors.api_base().map(str::to_string),
                _ => None,
            });
            if let (Some(found), Some(link)) = (found, self.links.get_mut(&server)) {
                if link.target.discover_base {
                    link.target
                        .vars
                        .insert(crate::link::base::VARIABLE.into(), found);
                }
            }
            let s = server.clone();
            let applied = self
                .history
                .call(move |store| {
                    Ok::<_, crate::store::StoreError>(store.apply(&s, &profile, updates))
                })
                .await;
            let delivered = match applied {
                Ok(Ok(delivered)) => {
                    self.store_failed = false;
                    delivered
                }
                Ok(Err(unapplied)) => {
                    self.history_failed(&unapplied.error.to_string());
                    Delivered::unrecorded(unapplied.batch)
                }
                Err(e) => {
                    // The history thread is gone: nothing came back to show.
                    self.history_failed(&e.to_string());
                    Vec::new()
                }
            };
            for item in delivered {
                self.deliver(&server, &item);
            }
            self.delivered_all();
        }
        let notified = std::mem::take(&mut self.pending.notified);
        if !notified.is_empty() && !self.store_failed {
            let at = Timestamp::now();
            self.history.submit(move |st| {
                if let Err(e) = st.mark_notified(&notified, at) {
                    tracing::warn!("cannot note when alerts were notified: {e}");
                }
            });
        }
    }

    fn history_failed(&mut self, message: &str) {
        if !self.store_failed {
            self.store_failed = true;
            tracing::error!("cannot write the history: {message}");
            self.notice(
                NoticeLevel::Error,
                Notice::HistoryFailed {
                    message: message.to_string(),
                },
            );
        }
    }

    pub(super) fn deliver(&mut self, server: &ServerId, item: &Delivered) {
        // A refused token that can be renewed is not a sign-out yet (see session.rs).
        let replaced = match item {
            Delivered::State(state) => self.session_state(server, state).map(Delivered::State),
            _ => None,
        };
        let item = replaced.as_ref().unwrap_or(item);
        let Some(link) = self.links.get_mut(server) else {
            return;
        };
        let now = Now::current();
        match item {
            // A stopped link was asked to stop (sign-out, a new sign-in, shutdown): nothing to show.
            Delivered::State(LinkState::Stopped) => {}
            Delivered::State(state) => {
                let at = Timestamp::now();
                let live = matches!(state, LinkState::Live);
                if live {
                    link.view.down_since = None;
                    link.was_live = true;
                } else {
                    link.view.down_since.get_or_insert(at);
                }
                link.view.link = state.clone();
                link.view.since = at;
                if let Some(policy) = self.policy.as_mut() {
                    policy.on_link_state(server, &link.view.label, state, now);
                }
                self.pending.servers = true;
                if live {
                    self.retry_responses(server);
                }
            }
            Delivered::Gap { from, to, reason } => {
                self.pending.gaps = true;
                let label = link.view.label.clone();
                self.notice(
                    NoticeLevel::Warning,
                    Notice::Gap {
                        server: server.clone(),
                        label,
                        from: *from,
                        to: *to,
                        reason: reason.clone(),
                    },
                );
            }
            Delivered::Problem(message) => {
                let label = link.view.label.clone();
                if self.problems.say(server, message) {
                    tracing::warn!(server = %server, "{message}");
                    self.notice(
                        NoticeLevel::Warning,
                        Notice::Problem {
                            server: server.clone(),
                            label,
                            message: message.clone(),
                        },
                    );
                }
            }
            Delivered::New(alert) | Delivered::Updated(alert, _) => {
                let change = match item {
                    Delivered::Updated(_, change) => Some(change.as_ref()),
                    _ => None,
                };
                let label = link.view.label.clone();
                if let Some(policy) = self.policy.as_mut() {
                    let outcome = policy.on_alert(server, &label, alert, change, now);
                    if let (Some(speaker), Notified::Notified, Priority::Critical) =
                        (&self.speaker, outcome, alert.fields.priority)
                    {
                        speaker.speak_critical(&alert.fields.title);
                    }
                    if matches!(outcome, Notified::Notified | Notified::Coalesced) {
                        self.pending
                            .notified
                            .push((server.clone(), alert.id.clone()));
                    }
                }
                if self.store_failed {
                    self.pending
                        .unrecorded
                        .push(AlertRow::unrecorded(server, alert));
                } else {
                    self.pending
                        .alerts
                        .insert((server.clone(), alert.id.clone()));
                }
            }
        }
        let Some(link) = self.links.get(server) else {
            return;
        };
        for sink in self.each_sink() {
            sink.delivered(&link.view, item);
        }
    }

    /// Tells the sinks a run of deliveries ended.
    pub(super) fn delivered_all(&self) {
        for sink in self.each_sink() {
            sink.delivered_all();
        }
    }

    /// The sinks hearing events now: the UI's, then the shell's.
    pub(super) fn sinks(&self) -> Vec<Arc<dyn super::Sink>> {
        self.each_sink().cloned().collect()
    }

    /// The sinks, borrowed (for work on the alert path, which should not clone them).
    fn each_sink(&self) -> impl Iterator<Item = &Arc<dyn super::Sink>> {
        self.ui.iter().chain(self.shell.iter())
    }

    pub(super) fn tick(&mut self) {
        let Some(policy) = self.policy.as_mut() else {
            return;
        };
        for action in policy.tick(Now::current()) {
            match action {
                Action::Escalate { key } => {
                    tracing::warn!(alert = %key.id, "still unacknowledged after repeated notifications");
                    self.notice(
                        NoticeLevel::Warning,
                        Notice::Escalated {
                            server: key.server.clone(),
                            id: key.id.clone(),
                        },
                    );
                    self.emit(&DeskEvent::Focus {
                        server: key.server,
                        id: key.id,
                        escalate: true,
                    });
                }
                Action::Indicator(_) => {
                    self.pending.servers = true;
                }
            }
        }
    }

    pub(super) async fn on_notifier(&mut self, event: NotifierEvent) {
        match event {
            NotifierEvent::Failed(message) => {
                if self.notify_failure.is_none() {
                    tracing::error!("cannot show notifications: {message}");
                    self.notice(
                        NoticeLevel::Error,
                        Notice::NotificationsFailed {
                            message: message.clone(),
                        },
                    );
                }
                self.notify_failure = Some(message);
                self.pending.servers = true;
            }
            NotifierEvent::Recovered => {
                if self.notify_failure.take().is_some() {
                    self.pending.servers = true;
                }
            }
            // "Sign in again" (or a click on a notification about a server's sign-in): the form, filled in.
            NotifierEvent::Action { alert, action }
                if alert.is_server() || action == ACTION_SIGN_IN =>
            {
                tracing::info!(server = %alert.server, action, "sign in again, from a notification");
                self.emit(&DeskEvent::SignIn {
                    server: alert.server,
                });
            }
            NotifierEvent::Action { alert, action } if action == ACTION_ACKNOWLEDGE => {
                match self.acknowledge(&alert.server, &alert.id).await {
                    Ok(()) => self.notice(
                        NoticeLevel::Info,
                        Notice::Acknowledged {
                            server: alert.server,
                            id: alert.id,
                        },
                    ),
                    Err(e) => tracing::warn!(alert = %alert.id, "cannot acknowledge: {e}"),
                }
            }
            NotifierEvent::Action { alert, action } if action.starts_with(ACTION_RESPOND) => {
                let name = &action[ACTION_RESPOND.len()..];
                match self.respond(&alert.server, &alert.id, name).await {
                    Ok(()) => {
                        let response = self.response_label(&alert.server, name);
                        self.notice(
                            NoticeLevel::Info,
                            Notice::Responded {
                                server: alert.server,
                                id: alert.id,
                                response,
                            },
                        );
                    }
                    Err(e) => tracing::warn!(alert = %alert.id, "cannot respond {name}: {e}"),
                }
            }
            NotifierEvent::Action { alert, action } => {
                // "Open", or a click on the notification itself.
                tracing::info!(alert = %alert.id, action, "notification clicked");
                self.emit(&DeskEvent::Focus {
                    server: alert.server,
                    id: alert.id,
                    escalate: false,
                });
            }
        }
    }
}
