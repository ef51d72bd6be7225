//! The desktop's notification service (freedesktop, over D-Bus): the [`Notifier`] that `alertdesk listen
//! --notify` and the desktop app use.
//!
//! Showing is asynchronous (a D-Bus round trip), while the policy calls [`Notifier::show`] synchronously, so
//! requests go through a bounded queue (`queue.rs`) to one worker task (`worker.rs`). The worker holds **one**
//! connection to the session bus for every notification (opened again if it closes), sends each notification
//! as a `Notify` call (notify-rust's message and hints, `message.rs`), and hears the server's `ActionInvoked`
//! and `NotificationClosed` signals on that same connection: clicks on a notification's buttons become
//! [`NotifierEvent::Action`], and what it remembers of each notification (`shown.rs`) goes when the
//! notification does, capped for servers that never say. A missing notification service is reported as
//! [`NotifierEvent::Failed`] and logged; it never stops alerts from being stored or printed. Nothing is started
//! per notification: no connection, no task.
//!
//! Limits (`docs/alerting.md`, "A whole shift: limits"): at most 128 requests wait for the worker (past it, the
//! oldest ordinary notification is dropped, never a critical one silently), at most 256 notifications are
//! remembered (past it, the oldest that expires by itself is forgotten), and at most [`EVENTS`] events wait for
//! the engine.
//!
//! Sound: every notification with a tone carries the bundled tone as the `sound-file` hint and a sound-theme
//! name as `sound-name`. Many notification servers (dunst, most tiling-desktop daemons) play neither, and say
//! so by leaving `sound` out of their capabilities. The worker asks the server's capabilities before the first
//! notification and again whenever the name `org.freedesktop.Notifications` changes owner (the server was
//! restarted or replaced), and when the server plays no sound, or none is reachable, it plays the tone
//! itself through a [`Player`] (see [`tone_to_play`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::alerting::notify::{
    AlertKey, Notification, NotificationId, Notifier, NotifyError, Tone,
};
use crate::alerting::player::Player;
use queue::{Command, Pushed, Queue};

mod message;
mod queue;
mod shown;
mod worker;

/// The notification service's well-known bus name, object path and interface.
const SERVICE: &str = "org.freedesktop.Notifications";
const SERVICE_PATH: &str = "/org/freedesktop/Notifications";

/// The most events (clicks, failures) waiting for the engine; past it they are dropped and counted.
pub const EVENTS: usize = 64;

/// Whether the notification server plays the sounds it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSound {
    /// Its capabilities include `sound`: it plays the `sound-file` / `sound-name` hints.
    Plays,
    /// Its capabilities lack `sound`: the hints are ignored.
    Silent,
    /// No notification server answered (none running, or no session bus).
    Unreachable,
}

impl ServerSound {
    /// What a server's `GetCapabilities` answer says about sound.
    pub fn from_capabilities<S: AsRef<str>>(capabilities: &[S]) -> Self {
        if capabilities.iter().any(|c| c.as_ref() == "sound") {
            Self::Plays
        } else {
            Self::Silent
        }
    }
}

/// The tone Alertdesk must play itself for `notification`: its tone, unless the server plays sounds.
pub fn tone_to_play(notification: &Notification, server: ServerSound) -> Option<&Tone> {
    match server {
        ServerSound::Plays => None,
        ServerSound::Silent | ServerSound::Unreachable => {
            notification.sound.as_ref().filter(|tone| tone.volume > 0)
        }
    }
}

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
    /// A notification was shown again after one failed.
    Recovered,
}

/// Shows notifications through the session bus's notification service.
#[derive(Debug)]
pub struct DbusNotifier {
    queue: Arc<Queue>,
    next_id: AtomicU64,
}

impl DbusNotifier {
    /// Starts the worker on the current tokio runtime. `sounds` is the directory of the extracted tones
    /// ([`crate::alerting::sounds::extract`]); `icon` an image file for the notifications; `player` plays the tones
    /// when the notification server does not ([`crate::alerting::player::AudioPlayer`]).
    pub fn start(
        sounds: PathBuf,
        icon: Option<PathBuf>,
        player: Arc<dyn Player>,
    ) -> (Self, mpsc::Receiver<NotifierEvent>) {
        let queue = Arc::new(Queue::new(queue::CAPACITY));
        let (events_tx, events) = mpsc::channel(EVENTS);
        let worker = worker::Worker::new(
            Arc::clone(&queue),
            worker::Events::new(events_tx),
            sounds,
            icon,
            player,
        );
        tokio::spawn(worker.run());
        (
            Self {
                queue,
                next_id: AtomicU64::new(1),
            },
            events,
        )
    }
}

impl Notifier for DbusNotifier {
    fn show(&self, notification: &Notification) -> Result<NotificationId, NotifyError> {
        let id = NotificationId(self.next_id.fetch_add(1, Ordering::Relaxed));
        match self.queue.push(Command::Show(id, notification.clone())) {
            // Dropped past the bound is counted and warned about by the queue; the id stays valid to close.
            Pushed::Queued | Pushed::Cancelled | Pushed::Dropped => Ok(id),
            Pushed::Refused => Err(NotifyError::Unavailable(format!(
                "{} critical notifications are waiting for the notification service already; this one is shown at its next repeat",
                queue::CAPACITY
            ))),
            Pushed::Closed => Err(NotifyError::Unavailable(
                "the notification worker stopped".into(),
            )),
        }
    }

    fn close(&self, id: NotificationId) {
        let _ = self.queue.push(Command::Close(id));
    }
}

impl Drop for DbusNotifier {
    /// The worker does what is queued, then ends.
    fn drop(&mut self) {
        self.queue.close();
    }
}

/// The app icon shown on notifications.
const ICON: &[u8] =
    include_bytes!("../../../../../icons/hicolor/128x128/apps/app.alertdesk.Alertdesk.png");

/// Starts the D-Bus notifier (desktop app and `listen --notify`) with the tones and the icon written to the
/// data directory, where the notification service can read them.
pub fn start_notifier(
    paths: &crate::config::paths::Paths,
) -> (DbusNotifier, mpsc::Receiver<NotifierEvent>) {
    let sounds =
        crate::alerting::sounds::extract(&paths.data_dir.join("sounds")).unwrap_or_else(|e| {
            tracing::warn!("cannot write the notification tones: {e}");
            paths.data_dir.join("sounds")
        });
    let icon = paths.data_dir.join("alertdesk.png");
    let icon = if std::fs::read(&icon).ok().as_deref() == Some(ICON) {
        Some(icon)
    } else {
        match std::fs::write(&icon, ICON) {
            Ok(()) => Some(icon),
            Err(e) => {
                tracing::warn!("cannot write the notification icon: {e}");
                None
            }
        }
    };
    // The tones are played in-process when the notification service plays none (see dbus_notifier).
    let player = std::sync::Arc::new(crate::alerting::player::AudioPlayer::new());
    DbusNotifier::start(sounds, icon, player)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::alerting::notify::{Category, Expire, Tone, Urgency};
    use crate::alerting::player::RecordingPlayer;

    fn notification(tone: Option<Tone>) -> Notification {
        Notification {
            summary: "Report: Smoke".into(),
            body: "Main St".into(),
            urgency: Urgency::Critical,
            sound: tone,
            expire: Expire::Never,
            actions: vec![],
            alert: Some(AlertKey::new(
                &crate::domain::ServerId::from_stored("http://a"),
                "r-1",
            )),
            category: Category::Alert(crate::domain::Priority::Critical),
            repeat: 0,
        }
    }

    #[test]
    fn capabilities_say_whether_the_server_plays_sound() {
        assert_eq!(
            ServerSound::from_capabilities(&["actions", "body", "sound"]),
            ServerSound::Plays
        );
        // dunst's answer: no "sound".
        assert_eq!(
            ServerSound::from_capabilities(&["actions", "body", "body-markup", "icon-static"]),
            ServerSound::Silent
        );
        assert_eq!(
            ServerSound::from_capabilities::<&str>(&[]),
            ServerSound::Silent
        );
        assert_eq!(
            ServerSound::from_capabilities(&["sounds", "x-sound"]),
            ServerSound::Silent,
            "only the exact capability counts"
        );
    }

    #[test]
    fn the_tone_is_played_in_process_only_when_the_server_plays_none() {
        let critical = notification(Some(Tone::new("critical", 60)));
        assert_eq!(tone_to_play(&critical, ServerSound::Plays), None);
        for server in [ServerSound::Silent, ServerSound::Unreachable] {
            let tone = tone_to_play(&critical, server).expect("played in-process");
            assert_eq!((tone.name.as_str(), tone.volume), ("critical", 60));
        }
        // No tone (the priority's tone is "none"), or a zero volume: nothing to play.
        assert_eq!(tone_to_play(&notification(None), ServerSound::Silent), None);
        assert_eq!(
            tone_to_play(
                &notification(Some(Tone::new("low", 0))),
                ServerSound::Silent
            ),
            None
        );
    }

    #[test]
    fn the_player_gets_the_tone_and_volume_of_each_notification() {
        let player = RecordingPlayer::new();
        for (name, volume) in [("high", 80), ("low", 35)] {
            let n = notification(Some(Tone::new(name, volume)));
            if let Some(tone) = tone_to_play(&n, ServerSound::Silent) {
                player.play(tone);
            }
        }
        let tones: Vec<_> = player
            .played()
            .into_iter()
            .map(|t| (t.name, t.volume))
            .collect();
        assert_eq!(tones, [("high".to_string(), 80), ("low".to_string(), 35)]);
    }
}
