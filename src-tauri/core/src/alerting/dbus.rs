//! The desktop's notification service (freedesktop, over D-Bus) through notify-rust: the [`Notifier`] that
//! `alertdesk listen --notify` and the desktop app use.
//!
//! Showing is asynchronous (a D-Bus round trip), while the policy calls [`Notifier::show`] synchronously, so
//! requests go to a worker task. It keeps each notification's handle under our own [`NotificationId`], waits
//! for clicks on its buttons, and reports them as [`NotifierEvent::Action`]. A missing notification service
//! is reported as [`NotifierEvent::Failed`] and logged; it never stops alerts from being stored or printed.
//!
//! Sound: every notification with a tone carries the bundled tone as the `sound-file` hint and a sound-theme
//! name as `sound-name`. Many notification servers (dunst, most tiling-desktop daemons) play neither, and say
//! so by leaving `sound` out of their capabilities. The worker asks the server's capabilities before the first
//! notification and again whenever the name `org.freedesktop.Notifications` changes owner (the server was
//! restarted or replaced), and when the server plays no sound, or none is reachable, it plays the tone
//! itself through a [`Player`] (see [`tone_to_play`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use notify_rust::{Hint, NotificationResponse, Timeout};
use tokio::sync::mpsc;

use crate::alerting::notify::{
    AlertKey, Expire, Notification, NotificationId, Notifier, NotifyError, Tone, Urgency,
};
use crate::alerting::player::Player;

/// The notification service's well-known bus name, object path and interface.
const SERVICE: &str = "org.freedesktop.Notifications";
const SERVICE_PATH: &str = "/org/freedesktop/Notifications";

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
    /// ([`crate::alerting::sounds::extract`]); `icon` an image file for the notifications; `player` plays the tones
    /// when the notification server does not ([`crate::alerting::player::AudioPlayer`]).
    pub fn start(
        sounds: PathBuf,
        icon: Option<PathBuf>,
        player: Arc<dyn Player>,
    ) -> (Self, mpsc::UnboundedReceiver<NotifierEvent>) {
        let (commands, requests) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::unbounded_channel();
        let worker = Worker {
            events: events_tx,
            sounds,
            icon,
            player,
            capabilities: Capabilities::default(),
        };
        tokio::spawn(worker.run(requests));
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

struct Worker {
    events: mpsc::UnboundedSender<NotifierEvent>,
    sounds: PathBuf,
    icon: Option<PathBuf>,
    player: Arc<dyn Player>,
    capabilities: Capabilities,
}

impl Worker {
    async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Command>) {
        let mut shown = HashMap::new();
        while let Some(command) = requests.recv().await {
            match command {
                Command::Show(id, notification) => {
                    // The tone first, so a slow notification server does not delay it.
                    if notification.sound.is_some() {
                        let server = self.capabilities.server_sound().await;
                        if let Some(tone) = tone_to_play(&notification, server) {
                            self.player.play(tone);
                        }
                    }
                    self.show(id, &notification, &mut shown).await;
                }
                Command::Close(id) => {
                    if let Some(handle) = shown.remove(&id) {
                        handle.close_async().await;
                    }
                }
            }
        }
        self.capabilities.stop();
    }

    async fn show(
        &self,
        id: NotificationId,
        notification: &Notification,
        shown: &mut HashMap<NotificationId, Arc<notify_rust::NotificationHandle>>,
    ) {
        let message = build(notification, &self.sounds, self.icon.as_ref());
        let handle = match message.show_async().await {
            Ok(handle) => Arc::new(handle),
            Err(e) => {
                tracing::warn!("cannot show a notification: {e}");
                let _ = self.events.send(NotifierEvent::Failed(e.to_string()));
                return;
            }
        };
        shown.insert(id, Arc::clone(&handle));
        let Some(alert) = notification.alert.clone() else {
            return;
        };
        if notification.actions.is_empty() {
            return;
        }
        let events = self.events.clone();
        tokio::spawn(async move {
            let mut clicked = None;
            handle
                .wait_for_action_async(|response| {
                    clicked = match response {
                        NotificationResponse::Default => Some("default".to_string()),
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

/// What the notification server said about sound, asked once and again after the server changed.
#[derive(Default)]
struct Capabilities {
    /// The session bus, once connected (`None` before the first question; a failed connect is retried).
    bus: Option<zbus::Connection>,
    /// The last answer; `None` when it must be asked (again).
    known: Option<ServerSound>,
    /// Set by the watcher when `org.freedesktop.Notifications` changes owner.
    stale: Arc<AtomicBool>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl Capabilities {
    /// Whether the server plays sounds, asking it when that is not known (first use, or a new server).
    async fn server_sound(&mut self) -> ServerSound {
        if self.stale.swap(false, Ordering::SeqCst) {
            self.known = None;
        }
        if let Some(known) = self.known {
            return known;
        }
        if self.bus.is_none() {
            match zbus::Connection::session().await {
                Ok(bus) => {
                    self.watcher = Some(tokio::spawn(watch_owner(
                        bus.clone(),
                        Arc::clone(&self.stale),
                    )));
                    self.bus = Some(bus);
                }
                Err(e) => {
                    tracing::debug!("no session bus for the notification service: {e}");
                    return ServerSound::Unreachable;
                }
            }
        }
        let bus = self.bus.as_ref().expect("connected above");
        let reply = bus
            .call_method(
                Some(SERVICE),
                SERVICE_PATH,
                Some(SERVICE),
                "GetCapabilities",
                &(),
            )
            .await;
        match reply.and_then(|reply| reply.body().deserialize::<Vec<String>>()) {
            Ok(capabilities) => {
                let sound = ServerSound::from_capabilities(&capabilities);
                tracing::info!(
                    ?capabilities,
                    "notification server capabilities: {}",
                    match sound {
                        ServerSound::Plays => "it plays the tones",
                        _ => "it plays no sound; Alertdesk plays the tones itself",
                    }
                );
                self.known = Some(sound);
                sound
            }
            // Not remembered: the next notification asks again (a server may have started meanwhile).
            Err(e) => {
                tracing::debug!("cannot ask the notification server's capabilities: {e}");
                ServerSound::Unreachable
            }
        }
    }

    fn stop(&mut self) {
        if let Some(watcher) = self.watcher.take() {
            watcher.abort();
        }
    }
}

/// Marks the capabilities stale whenever the notification service's name changes owner.
async fn watch_owner(bus: zbus::Connection, stale: Arc<AtomicBool>) {
    let changes = async {
        let proxy = zbus::fdo::DBusProxy::new(&bus).await?;
        proxy
            .receive_name_owner_changed_with_args(&[(0, SERVICE)])
            .await
    };
    match changes.await {
        Ok(mut changes) => {
            while changes.next().await.is_some() {
                tracing::debug!("the notification server changed");
                stale.store(true, Ordering::SeqCst);
            }
        }
        Err(e) => tracing::debug!("cannot watch the notification server: {e}"),
    }
}

/// Server text as plain text in a notification body, which servers with `body-markup` read as markup: a report
/// titled `<a href=...>` or `<img src=...>` must show as those characters, not as a link or an image.
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The summary is plain text by the specification, but some servers (dunst) read markup there too, and an
/// escape would show as `&lt;` on the others: angle brackets become look-alikes that no server reads as a tag.
fn summary_text(text: &str) -> String {
    text.replace('<', "\u{2039}").replace('>', "\u{203a}")
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
        .summary(&summary_text(&n.summary))
        .body(&escape_markup(&n.body));
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
        if let Some(file) = crate::alerting::sounds::tone_file(sounds, &tone.name) {
            message.hint(Hint::SoundFile(file.to_string_lossy().into_owned()));
        }
        message.hint(Hint::SoundName(
            crate::alerting::sounds::theme_name_for_tone(&tone.name).to_string(),
        ));
    }
    message.hint(Hint::Category(format!("alertdesk.{}", n.category.as_str())));
    for (key, label) in &n.actions {
        message.action(key, label);
    }
    message
}

/// The app icon shown on notifications.
const ICON: &[u8] = include_bytes!("../../../../icons/128x128.png");

/// Starts the D-Bus notifier (desktop app and `listen --notify`) with the tones and the icon written to the
/// data directory, where the notification service can read them.
pub fn start_notifier(
    paths: &crate::config::paths::Paths,
) -> (DbusNotifier, mpsc::UnboundedReceiver<NotifierEvent>) {
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

    #[test]
    fn server_text_in_a_body_is_not_markup() {
        assert_eq!(
            escape_markup("<img src=x onerror=\"a()\"> & <a href='javascript:x'>"),
            "&lt;img src=x onerror=&quot;a()&quot;&gt; &amp; &lt;a href=&apos;javascript:x&apos;&gt;"
        );
        assert_eq!(escape_markup("Station 4 · Main St"), "Station 4 · Main St");
        assert_eq!(
            summary_text("Fire: <img src=x> & smoke"),
            "Fire: \u{2039}img src=x\u{203a} & smoke"
        );
    }
    use crate::alerting::notify::{Category, Tone};
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
            category: Category::Alert,
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
