//! Duty mode for `alertdesk listen --notify`: native notifications with sound, following the alerting policy
//! (repeats until acknowledged, burst summaries, quiet hours, the link-health alarm), and the notification's
//! "Acknowledge" button writing back to the server.

use std::sync::Arc;

use alertdesk_core::acknowledge::write_back_to;
use alertdesk_core::alert::{Alert, Priority};
use alertdesk_core::dbus_notifier::NotifierEvent;
use alertdesk_core::history::{Delivered, History};
use alertdesk_core::notify::{AlertKey, ACTION_ACKNOWLEDGE};
use alertdesk_core::paths::Paths;
use alertdesk_core::policy::{Action, Now, Outcome, Policy};
use alertdesk_core::settings::Settings;
use alertdesk_core::speech::Speaker;
use alertdesk_core::supervisor::Target;
use tokio::sync::mpsc;

/// What woke duty mode up.
pub(crate) enum Wake {
    /// A policy deadline passed (a repeat is due, a burst window closed, a pause ended).
    Deadline,
    /// The notification service reported something.
    Notifier(NotifierEvent),
}

pub(crate) struct Duty {
    policy: Policy,
    events: mpsc::UnboundedReceiver<NotifierEvent>,
    target: Target,
    history: History,
    http: reqwest::Client,
    said_failure: bool,
    /// Reads critical alerts aloud (`speak_critical`).
    speaker: Option<Speaker>,
}

impl Duty {
    /// Starts the notifier and the policy from the `[alerting]` settings.
    pub(crate) fn start(paths: &Paths, target: &Target, history: &History) -> Self {
        let settings = Settings::load(&paths.settings_file()).unwrap_or_default();
        let (notifier, events) = alertdesk_core::dbus_notifier::start_notifier(paths);
        let speaker = settings.alerting.speak_critical.then(Speaker::from_env);
        Self {
            policy: Policy::new(settings.alerting, Arc::new(notifier)),
            events,
            target: target.clone(),
            history: history.clone(),
            http: alertdesk_core::auth::http_client(),
            said_failure: false,
            speaker,
        }
    }

    fn server(&self) -> String {
        self.target.server.to_string()
    }

    /// Tells the policy what the history delivered.
    pub(crate) fn on_delivered(&mut self, item: &Delivered) {
        let server = self.server();
        let now = Now::current();
        match item {
            Delivered::New(alert) => {
                let outcome = self.policy.on_alert(&server, alert, None, now);
                self.speak(alert, outcome);
            }
            Delivered::Updated(alert, change) => {
                let outcome = self.policy.on_alert(&server, alert, Some(change), now);
                self.speak(alert, outcome);
            }
            Delivered::State(state) => self.policy.on_link_state(&server, state, now),
            Delivered::Gap { .. } => {}
        }
    }

    /// Reads a critical alert aloud when it was notified (not when "silence everything" held it back).
    fn speak(&self, alert: &Alert, outcome: Outcome) {
        if let (Some(speaker), Outcome::Notified, Priority::Critical) =
            (&self.speaker, outcome, alert.priority)
        {
            speaker.speak_critical(&alert.title);
        }
    }

    /// Waits for the next policy deadline or notifier event.
    pub(crate) async fn next(&mut self) -> Wake {
        let deadline = self.policy.next_deadline();
        tokio::select! {
            () = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => Wake::Deadline,
            event = self.events.recv() => match event {
                Some(event) => Wake::Notifier(event),
                None => std::future::pending().await,
            },
        }
    }

    pub(crate) async fn handle(&mut self, wake: Wake) {
        match wake {
            Wake::Deadline => {
                for action in self.policy.tick(Now::current()) {
                    match action {
                        Action::Escalate { key } => {
                            tracing::warn!(alert = %key.id, "still unacknowledged after repeated notifications");
                            eprintln!("alertdesk: {} is still unacknowledged", key.id);
                        }
                        Action::Indicator(indicator) => {
                            tracing::info!("notifications: {indicator:?}");
                        }
                    }
                }
            }
            Wake::Notifier(NotifierEvent::Failed(message)) => {
                if !self.said_failure {
                    eprintln!("alertdesk: cannot show notifications ({message}); alerts are still printed and stored");
                    self.said_failure = true;
                }
            }
            Wake::Notifier(NotifierEvent::Action { alert, action })
                if action == ACTION_ACKNOWLEDGE =>
            {
                self.acknowledge(&alert).await;
            }
            Wake::Notifier(NotifierEvent::Action { alert, action }) => {
                // "Open" and a click on the notification: there is no window in duty mode.
                tracing::info!(alert = %alert.id, action, "notification clicked");
            }
        }
    }

    /// Acknowledges in the history (which stops the repeats) and on the server where the profile says how.
    async fn acknowledge(&mut self, key: &AlertKey) {
        self.policy.on_acknowledged(key);
        let stored = match self.history.acknowledge(&key.id).await {
            Ok(stored) => stored,
            Err(e) => {
                eprintln!("alertdesk: cannot acknowledge {}: {e}", key.id);
                return;
            }
        };
        eprintln!("alertdesk: acknowledged {}", key.id);
        let Some(alert) = stored else { return };
        if self.target.profile.acknowledge.is_none() {
            return;
        }
        let (http, target) = (self.http.clone(), self.target.clone());
        tokio::spawn(async move {
            if let Err(e) = write_back_to(&http, &target, &alert).await {
                eprintln!(
                    "alertdesk: acknowledged {} locally, but the server was not told: {e}",
                    alert.id
                );
            }
        });
    }
}

/// Resolves to the next wake-up of duty mode, or never when it is off.
pub(crate) async fn next(duty: Option<&mut Duty>) -> Wake {
    match duty {
        Some(duty) => duty.next().await,
        None => std::future::pending().await,
    }
}
