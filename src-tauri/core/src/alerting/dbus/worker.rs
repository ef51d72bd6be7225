//! The notifier's one task: it holds one connection to the session bus for every notification, takes the
//! requests from the [`Queue`] one at a time, and hears the notification server's signals on the same
//! connection: `ActionInvoked` (a click, reported as [`NotifierEvent::Action`]), `NotificationClosed` (its
//! bookkeeping goes, see [`Shown`]) and the change of owner of `org.freedesktop.Notifications` (its capabilities
//! are asked again).
//!
//! Signals are read while a call waits for its reply too: zbus hands every incoming message to its streams in
//! turn, so a stream left unread would stop the replies behind it. A connection that closes (the bus went
//! away) is dropped with everything it knew, and the next request opens a new one.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::mpsc;

use super::message::{build, notify_args};
use super::queue::{Command, Queue};
use super::shown::{self, Shown};
use super::{tone_to_play, NotifierEvent, ServerSound, SERVICE, SERVICE_PATH};
use crate::alerting::bounded::Dropped;
use crate::alerting::notify::{Expire, Notification, NotificationId};
use crate::alerting::player::Player;

/// The longest a call to the notification server, or connecting to the session bus, may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Signals zbus keeps for the worker before it reads them.
const SIGNAL_QUEUE: NonZeroUsize = NonZeroUsize::new(256).expect("not zero");

/// The notification server's signals and the owner changes of its name, on one connection.
type Signals = stream::Select<zbus::MessageStream, zbus::MessageStream>;

/// The one connection and what it hears.
struct Bus {
    conn: zbus::Connection,
    signals: Signals,
}

/// A signal that matters to the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Signal {
    /// `ActionInvoked(id, key)`: a button, or the notification itself (`default`), was clicked.
    Action(u32, String),
    /// `NotificationClosed(id, reason)`: expired, dismissed, or closed.
    Closed(u32),
    /// `org.freedesktop.Notifications` changed owner: another server, which may play sounds or not.
    ServerChanged,
}

impl Signal {
    fn decode(message: &zbus::Message) -> Option<Self> {
        let header = message.header();
        match header.member()?.as_str() {
            "ActionInvoked" => {
                let (id, key) = message.body().deserialize::<(u32, String)>().ok()?;
                Some(Self::Action(id, key))
            }
            "NotificationClosed" => {
                let (id, _reason) = message.body().deserialize::<(u32, u32)>().ok()?;
                Some(Self::Closed(id))
            }
            "NameOwnerChanged" => Some(Self::ServerChanged),
            _ => None,
        }
    }
}

/// Events for the engine, through a bounded channel: past its bound (the engine is not reading) an event is
/// dropped and counted. Failures repeat what the engine was told already; a dropped click is warned about.
pub(super) struct Events {
    sender: mpsc::Sender<NotifierEvent>,
    dropped: Dropped,
}

impl Events {
    pub(super) fn new(sender: mpsc::Sender<NotifierEvent>) -> Self {
        Self {
            sender,
            dropped: Dropped::new(
                "notification events (clicks, failures)",
                "Alertdesk is not taking the notification service's events",
            ),
        }
    }

    fn send(&mut self, event: NotifierEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.sender.try_send(event) {
            self.dropped.note();
        }
    }
}

/// The worker task's state (see the [module](self)).
pub(super) struct Worker {
    queue: Arc<Queue>,
    events: Events,
    sounds: PathBuf,
    icon: Option<PathBuf>,
    player: Arc<dyn Player>,
    bus: Option<Bus>,
    /// What the server said about sound; `None` when it must be asked (again).
    sound: Option<ServerSound>,
    shown: Shown,
    /// The last notification failed: the next one shown says it works again.
    failing: bool,
}

impl Worker {
    pub(super) fn new(
        queue: Arc<Queue>,
        events: Events,
        sounds: PathBuf,
        icon: Option<PathBuf>,
        player: Arc<dyn Player>,
    ) -> Self {
        Self {
            queue,
            events,
            sounds,
            icon,
            player,
            bus: None,
            sound: None,
            shown: Shown::new(shown::CAPACITY),
            failing: false,
        }
    }

    /// Takes requests and signals until the notifier is dropped.
    pub(super) async fn run(mut self) {
        loop {
            let step = tokio::select! {
                command = self.queue.next() => match command {
                    Some(command) => Step::Command(command),
                    None => break,
                },
                signal = next_signal(self.bus.as_mut()) => Step::Signal(signal),
            };
            match step {
                Step::Command(Command::Show(id, notification)) => {
                    self.show(id, &notification).await;
                }
                Step::Command(Command::Close(id)) => self.close(id).await,
                Step::Signal(signal) => self.on_signal(signal),
            }
        }
    }

    async fn show(&mut self, id: NotificationId, notification: &Notification) {
        let connected = self.connect().await;
        // The tone first, so a slow notification server does not delay it.
        if notification.sound.is_some() {
            let server = match connected {
                Ok(()) => self.server_sound().await,
                Err(_) => ServerSound::Unreachable,
            };
            if let Some(tone) = tone_to_play(notification, server) {
                self.player.play(tone);
            }
        }
        if let Err(e) = connected {
            self.failed(e);
            return;
        }
        let message = build(notification, &self.sounds, self.icon.as_ref());
        let reply = self.call("Notify", &notify_args(&message)).await;
        match reply.and_then(|reply| reply.body().deserialize::<u32>()) {
            Ok(server) => {
                self.shown.insert(
                    id,
                    server,
                    notification.alert.clone(),
                    notification.expire == Expire::Never,
                );
                self.succeeded();
            }
            Err(e) => self.failed(e.to_string()),
        }
    }

    async fn close(&mut self, id: NotificationId) {
        let Some(server) = self.shown.close(id) else {
            return;
        };
        if self.bus.is_none() {
            return;
        }
        if let Err(e) = self.call("CloseNotification", &server).await {
            tracing::debug!("cannot close a notification: {e}");
        }
    }

    /// Whether the server plays sounds, asking it when that is not known (first use, or a new server).
    async fn server_sound(&mut self) -> ServerSound {
        if let Some(known) = self.sound {
            return known;
        }
        let reply = self.call("GetCapabilities", &()).await;
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
                self.sound = Some(sound);
                sound
            }
            // Not remembered: the next notification asks again (a server may have started meanwhile).
            Err(e) => {
                tracing::debug!("cannot ask the notification server's capabilities: {e}");
                ServerSound::Unreachable
            }
        }
    }

    /// The connection, opened when there is none or the last one closed.
    async fn connect(&mut self) -> Result<(), String> {
        if let Some(bus) = &self.bus {
            if !bus.conn.is_closed() {
                return Ok(());
            }
            self.lost();
        }
        match tokio::time::timeout(CALL_TIMEOUT, open()).await {
            Ok(Ok(bus)) => {
                tracing::debug!("connected to the session bus for notifications");
                self.bus = Some(bus);
                Ok(())
            }
            Ok(Err(e)) => Err(format!("no session bus: {e}")),
            Err(_) => Err(format!(
                "the session bus did not answer within {} s",
                CALL_TIMEOUT.as_secs()
            )),
        }
    }

    /// Calls `method` of the notification service over the connection, reading signals while it waits.
    async fn call<B>(&mut self, method: &'static str, body: &B) -> zbus::Result<zbus::Message>
    where
        B: serde::Serialize + zbus::DynamicType,
    {
        let Some(conn) = self.bus.as_ref().map(|bus| bus.conn.clone()) else {
            return Err(zbus::Error::Failure("not connected".into()));
        };
        let reply = conn.call_method(Some(SERVICE), SERVICE_PATH, Some(SERVICE), method, body);
        tokio::pin!(reply);
        loop {
            let Some(bus) = self.bus.as_mut() else {
                return reply.await;
            };
            let waited = tokio::select! {
                biased;
                reply = &mut reply => Waited::Reply(reply),
                signal = bus.signals.next() => Waited::Signal(signal),
            };
            match waited {
                Waited::Reply(reply) => return reply,
                Waited::Signal(signal) => self.on_signal(signal),
            }
        }
    }

    fn on_signal(&mut self, signal: Option<zbus::Result<zbus::Message>>) {
        match signal {
            Some(Ok(message)) => {
                if let Some(signal) = Signal::decode(&message) {
                    self.apply(signal);
                }
            }
            Some(Err(e)) => {
                tracing::debug!("session bus: {e}");
                self.lost();
            }
            None => self.lost(),
        }
    }

    /// What a signal from the notification server changes.
    pub(super) fn apply(&mut self, signal: Signal) {
        match signal {
            Signal::Action(server, action) => {
                if let Some(alert) = self.shown.alert(server) {
                    let alert = alert.clone();
                    self.events.send(NotifierEvent::Action { alert, action });
                }
            }
            Signal::Closed(server) => self.shown.closed(server),
            Signal::ServerChanged => {
                tracing::debug!("the notification server changed");
                self.sound = None;
            }
        }
    }

    /// The connection closed: it goes, with what it knew (the server's ids, its capabilities).
    fn lost(&mut self) {
        if self.bus.take().is_some() {
            tracing::info!(
                forgotten = self.shown.len(),
                "the session bus connection closed; the next notification opens a new one"
            );
        }
        self.shown.clear();
        self.sound = None;
    }

    fn failed(&mut self, message: String) {
        tracing::warn!("cannot show a notification: {message}");
        self.failing = true;
        self.events.send(NotifierEvent::Failed(message));
    }

    /// A notification was shown: after a failure, the engine hears that they work again.
    fn succeeded(&mut self) {
        if std::mem::take(&mut self.failing) {
            tracing::info!("notifications are shown again");
            self.events.send(NotifierEvent::Recovered);
        }
    }

    #[cfg(test)]
    pub(super) fn shown(&mut self) -> &mut Shown {
        &mut self.shown
    }
}

/// What the worker's loop got.
enum Step {
    Command(Command),
    Signal(Option<zbus::Result<zbus::Message>>),
}

/// What a call got while it waits for its reply.
enum Waited {
    Reply(zbus::Result<zbus::Message>),
    Signal(Option<zbus::Result<zbus::Message>>),
}

/// The next signal of the connection; with none, never (a request opens one).
async fn next_signal(bus: Option<&mut Bus>) -> Option<zbus::Result<zbus::Message>> {
    match bus {
        Some(bus) => bus.signals.next().await,
        None => std::future::pending().await,
    }
}

/// A connection to the session bus with the notification server's signals and its name's owner changes.
async fn open() -> zbus::Result<Bus> {
    let conn = zbus::connection::Builder::session()
        .method_timeout(CALL_TIMEOUT)
        .build()
        .await?;
    let from_server = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(SERVICE)
        .path(SERVICE_PATH)
        .build()?;
    let owner = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .arg(0, SERVICE)
        .build()?;
    let from_server =
        zbus::MessageStream::for_match_rule(from_server, &conn, Some(SIGNAL_QUEUE)).await?;
    let owner = zbus::MessageStream::for_match_rule(owner, &conn, Some(SIGNAL_QUEUE)).await?;
    Ok(Bus {
        conn,
        signals: stream::select(from_server, owner),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::AlertKey;
    use crate::alerting::player::RecordingPlayer;
    use crate::domain::ServerId;

    fn worker(events: usize) -> (Worker, mpsc::Receiver<NotifierEvent>) {
        let (tx, rx) = mpsc::channel(events);
        let worker = Worker::new(
            Arc::new(Queue::new(4)),
            Events::new(tx),
            PathBuf::from("/nonexistent"),
            None,
            Arc::new(RecordingPlayer::new()),
        );
        (worker, rx)
    }

    fn key(id: &str) -> AlertKey {
        AlertKey::new(&ServerId::from_stored("http://a"), id)
    }

    #[test]
    fn notifications_that_work_again_after_a_failure_are_said_once() {
        let (mut worker, mut events) = worker(8);
        worker.succeeded();
        assert!(events.try_recv().is_err(), "nothing failed before");
        worker.failed("no notification service".into());
        worker.failed("no notification service".into());
        worker.succeeded();
        worker.succeeded();
        let mut heard = Vec::new();
        while let Ok(event) = events.try_recv() {
            heard.push(event);
        }
        let failed = NotifierEvent::Failed("no notification service".into());
        assert_eq!(
            heard,
            [failed.clone(), failed, NotifierEvent::Recovered],
            "recovered once"
        );
    }

    #[test]
    fn a_click_reaches_the_engine_and_a_closed_notification_is_forgotten() {
        let (mut worker, mut events) = worker(8);
        worker
            .shown()
            .insert(NotificationId(1), 41, Some(key("r-1")), false);
        worker.shown().insert(NotificationId(2), 42, None, false);

        worker.apply(Signal::Action(41, "respond:en_route".into()));
        assert_eq!(
            events.try_recv().unwrap(),
            NotifierEvent::Action {
                alert: key("r-1"),
                action: "respond:en_route".into()
            }
        );
        // A summary's click, or one on a notification Alertdesk does not know (another app's): nothing.
        worker.apply(Signal::Action(42, "default".into()));
        worker.apply(Signal::Action(7, "acknowledge".into()));
        assert!(events.try_recv().is_err());

        // Expired, dismissed: its bookkeeping goes, and a late click is nobody's.
        worker.apply(Signal::Closed(41));
        worker.apply(Signal::Closed(42));
        assert_eq!(worker.shown().len(), 0);
        worker.apply(Signal::Action(41, "acknowledge".into()));
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn a_new_server_is_asked_about_sound_again() {
        let (mut worker, _events) = worker(8);
        worker.sound = Some(ServerSound::Plays);
        worker.apply(Signal::ServerChanged);
        assert_eq!(worker.sound, None);
    }

    #[test]
    fn events_past_the_bound_are_dropped_not_waited_for() {
        let (mut worker, mut events) = worker(2);
        worker
            .shown()
            .insert(NotificationId(1), 41, Some(key("r-1")), false);
        for _ in 0..10 {
            worker.apply(Signal::Action(41, "open".into()));
        }
        assert_eq!(worker.events.dropped.total(), 8);
        assert!(events.try_recv().is_ok() && events.try_recv().is_ok());
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn a_lost_connection_forgets_what_it_knew() {
        let (mut worker, _events) = worker(2);
        worker
            .shown()
            .insert(NotificationId(1), 41, Some(key("r-1")), true);
        worker.sound = Some(ServerSound::Silent);
        worker.on_signal(None);
        assert_eq!(worker.shown().len(), 0);
        assert_eq!(worker.sound, None);
    }
}
