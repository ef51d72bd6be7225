//! The desktop's notification service (freedesktop, over D-Bus) through notify-rust: the [`Notifier`] that
//! `alertdesk listen --notify` and the desktop app use.
//!
//! Showing is asynchronous (a D-Bus round trip), while the policy calls [`Notifier::show`] synchronously, so
//! requests go to a worker task. It keeps each notification's handle under our own [`NotificationId`], waits
//! for clicks on its buttons, and reports them as [`NotifierEvent::Action`]. A missing notification service
//! is reported as [`NotifierEvent::Failed`] and logged; it never stops alerts from being stored or printed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use notify_rust::{Hint, NotificationResponse, Timeout};
use tokio::sync::mpsc;

use crate::notify::{
    AlertKey, Expire, Notification, NotificationId, Notifier, NotifyError, Urgency,
};

/// What the notification service reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifierEvent {
    /// The user clicked a button (`acknowledge`, `open`) or the notification itself (`default`).
    Action {
        /// The alert it was about.
        alert: AlertKey,
        /// The action key.
        action: String,
    },
    /// A notification could not be shown (no notification service, D-Bus error).
    Failed(String),
}

enum Command {
    Show(NotificationId, Notification),
    Close(NotificationId),
}

/// Shows notifications through the session bus's notification service.
#[derive(Debug)]
pub struct DbusNotifier {
    commands: mpsc::UnboundedSender<Command>,
    next_id: AtomicU64,
}

impl DbusNotifier {
    /// Starts the worker on the current tokio runtime. `sounds` is the directory of the extracted tones
    /// ([`crate::sounds::extract`]); `icon` an image file for the notifications.
    pub fn start(
        sounds: PathBuf,
        icon: Option<PathBuf>,
    ) -> (Self, mpsc::UnboundedReceiver<NotifierEvent>) {
        let (commands, requests) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::unbounded_channel();
        tokio::spawn(worker(requests, events_tx, sounds, icon));
        (
            Self {
                commands,
                next_id: AtomicU64::new(1),
            },
            events,
        )
    }
}

impl Notifier for DbusNotifier {
    fn show(&self, notification: &Notification) -> Result<NotificationId, NotifyError> {
        let id = NotificationId(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.commands
            .send(Command::Show(id, notification.clone()))
            .map_err(|_| NotifyError::Unavailable("the notification worker stopped".into()))?;
        Ok(id)
    }

    fn close(&self, id: NotificationId) {
        let _ = self.commands.send(Command::Close(id));
    }
}

async fn worker(
    mut requests: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<NotifierEvent>,
    sounds: PathBuf,
    icon: Option<PathBuf>,
) {
    let mut shown: HashMap<NotificationId, Arc<notify_rust::NotificationHandle>> = HashMap::new();
    while let Some(command) = requests.recv().await {
        match command {
            Command::Show(id, notification) => {
                let message = build(&notification, &sounds, icon.as_ref());
                match message.show_async().await {
                    Ok(handle) => {
                        let handle = Arc::new(handle);
                        shown.insert(id, Arc::clone(&handle));
                        if let (Some(alert), false) =
                            (notification.alert.clone(), notification.actions.is_empty())
                        {
                            let events = events.clone();
                            tokio::spawn(async move {
                                let mut clicked = None;
                                handle
                                    .wait_for_action_async(|response| {
                                        clicked = match response {
                                            NotificationResponse::Default => {
                                                Some("default".to_string())
                                            }
                                            NotificationResponse::Action(key) => Some(key.clone()),
                                            _ => None,
                                        };
                                    })
                                    .await;
                                if let Some(action) = clicked {
                                    let _ = events.send(NotifierEvent::Action { alert, action });
                                }
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!("cannot show a notification: {e}");
                        let _ = events.send(NotifierEvent::Failed(e.to_string()));
                    }
                }
            }
            Command::Close(id) => {
                if let Some(handle) = shown.remove(&id) {
                    handle.close_async().await;
                }
            }
        }
    }
}

/// The notify-rust message for a notification: app name and icon, urgency, expiry, sound hints, buttons.
fn build(
    n: &Notification,
    sounds: &std::path::Path,
    icon: Option<&PathBuf>,
) -> notify_rust::Notification {
    let mut message = notify_rust::Notification::new();
    message
        .appname("Alertdesk")
        .summary(&n.summary)
        .body(&n.body);
    if let Some(icon) = icon {
        message.icon(&icon.to_string_lossy());
    }
    message.urgency(match n.urgency {
        Urgency::Low => notify_rust::Urgency::Low,
        Urgency::Normal => notify_rust::Urgency::Normal,
        Urgency::Critical => notify_rust::Urgency::Critical,
    });
    if n.expire == Expire::Never {
        message.timeout(Timeout::Never);
    }
    if let Some(tone) = &n.sound {
        if let Some(file) = crate::sounds::tone_file(sounds, &tone.name) {
            message.hint(Hint::SoundFile(file.to_string_lossy().into_owned()));
        }
        message.hint(Hint::SoundName(
            crate::sounds::theme_name_for_tone(&tone.name).to_string(),
        ));
    }
    message.hint(Hint::Category(format!("alertdesk.{}", n.category.as_str())));
    for (key, label) in &n.actions {
        message.action(key, label);
    }
    message
}
