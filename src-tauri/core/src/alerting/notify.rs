//! Desktop notifications as values: what the [policy](crate::policy) decides to show, and the [`Notifier`]
//! that shows it.
//!
//! The core only describes notifications; the desktop shell implements [`Notifier`] over D-Bus.
//! [`RecordingNotifier`] keeps what it is asked to show, for tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::domain::{Priority, ServerId};

/// The action key of the "Acknowledge" button.
pub const ACTION_ACKNOWLEDGE: &str = "acknowledge";
/// The action key of the "Open" button.
pub const ACTION_OPEN: &str = "open";
/// The action key prefix of a status response: `respond:en_route`.
pub const ACTION_RESPOND: &str = "respond:";
/// The action key of the "Sign in again" button (on notifications about a server's sign-in).
pub const ACTION_SIGN_IN: &str = "sign_in";

/// Which alert a notification is about: its server and the alert's id there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertKey {
    /// The server the alert came from.
    pub server: ServerId,
    /// The alert's id on that server.
    pub id: String,
}

impl AlertKey {
    /// The key of alert `id` from `server`.
    pub fn new(server: &ServerId, id: &str) -> Self {
        Self {
            server: server.clone(),
            id: id.to_string(),
        }
    }

    /// The key of a notification about `server` itself (its sign-in), not about one of its alerts: the empty
    /// id, which no alert has (ids are never empty), so a click on it reaches the server.
    pub fn of_server(server: &ServerId) -> Self {
        Self::new(server, "")
    }

    /// Whether this is the key of a notification about the server itself ([`AlertKey::of_server`]).
    pub fn is_server(&self) -> bool {
        self.id.is_empty()
    }
}

/// How urgently the desktop should present a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    /// Background.
    Low,
    /// The default.
    Normal,
    /// Stays until dismissed; shown over "do not disturb" where the desktop allows it.
    Critical,
}

/// When a notification goes away by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expire {
    /// The desktop's default timeout.
    Default,
    /// Never: it stays until dismissed.
    Never,
}

/// The vendor prefix of Alertdesk's notification categories (`x-vendor.class.specific`, as the notification
/// specification asks of categories it does not define).
pub const CATEGORY_PREFIX: &str = "x-alertdesk";

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// One alert, of this priority.
    Alert(Priority),
    /// Several alerts folded into one: a burst's or a flood's summary, and the one repeating notification of a
    /// flood of unanswered critical alerts.
    Summary,
    /// A server's connection (lost, or back).
    Link,
}

impl Category {
    /// The `category` hint: `x-alertdesk.alert.critical` (`.high`, `.normal`, `.low`), `x-alertdesk.summary`,
    /// `x-alertdesk.connection`, so a desktop's notification settings (or a dunst rule) can treat each apart.
    /// Listed in docs/alerting.md.
    pub fn hint(self) -> String {
        match self {
            Self::Alert(priority) => format!("{CATEGORY_PREFIX}.alert.{}", priority.as_str()),
            Self::Summary => format!("{CATEGORY_PREFIX}.summary"),
            Self::Link => format!("{CATEGORY_PREFIX}.connection"),
        }
    }

    /// Whether this is one alert's notification (of any priority).
    pub fn is_alert(self) -> bool {
        matches!(self, Self::Alert(_))
    }
}

/// A sound to play with a notification.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tone {
    /// The bundled tone's name (from the settings).
    pub name: String,
    /// Where the bundled tone file is expected, relative to the app's resources (a hint for the shell).
    pub file: String,
    /// Volume, 0 to 100.
    pub volume: u8,
}

impl Tone {
    /// The tone `name` at `volume`.
    pub fn new(name: &str, volume: u8) -> Self {
        Self {
            name: name.to_string(),
            file: format!("tones/{name}.oga"),
            volume,
        }
    }
}

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The headline: kind and title for an alert.
    pub summary: String,
    /// The key fields.
    pub body: String,
    /// How urgent.
    pub urgency: Urgency,
    /// The sound to play, if any.
    pub sound: Option<Tone>,
    /// When it goes away.
    pub expire: Expire,
    /// Buttons, as (action key, label): see [`ACTION_ACKNOWLEDGE`] and [`ACTION_OPEN`].
    pub actions: Vec<(String, String)>,
    /// The alert it is about (none for summaries and link notices).
    pub alert: Option<AlertKey>,
    /// What it is about.
    pub category: Category,
    /// 0 for the first notification of an alert, then 1, 2, ... for each repeat.
    pub repeat: u32,
}

/// The desktop's id for a shown notification (to close or replace it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NotificationId(pub u64);

/// A notification could not be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The desktop's notification service is missing or failed.
    #[error("cannot show a notification: {0}")]
    Unavailable(String),
}

/// Shows notifications on the desktop.
pub trait Notifier: Send + Sync {
    /// Shows `notification` (with its sound) and returns its id.
    fn show(&self, notification: &Notification) -> Result<NotificationId, NotifyError>;
    /// Takes a shown notification off the screen (nothing when it is already gone).
    fn close(&self, id: NotificationId);
}

/// A [`Notifier`] that records what it is asked to do, for tests.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    shown: Mutex<Vec<(NotificationId, Notification)>>,
    closed: Mutex<Vec<NotificationId>>,
    next_id: AtomicU64,
}

impl RecordingNotifier {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything shown so far, oldest first.
    pub fn shown(&self) -> Vec<Notification> {
        lock(&self.shown).iter().map(|(_, n)| n.clone()).collect()
    }

    /// Everything shown so far with its id, oldest first.
    pub fn shown_with_ids(&self) -> Vec<(NotificationId, Notification)> {
        lock(&self.shown).clone()
    }

    /// Everything shown so far, and forgets it.
    pub fn take(&self) -> Vec<Notification> {
        std::mem::take(&mut *lock(&self.shown))
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    }

    /// The ids closed so far, oldest first.
    pub fn closed(&self) -> Vec<NotificationId> {
        lock(&self.closed).clone()
    }

    /// How many notifications have been shown.
    pub fn count(&self) -> usize {
        lock(&self.shown).len()
    }
}

impl Notifier for RecordingNotifier {
    fn show(&self, notification: &Notification) -> Result<NotificationId, NotifyError> {
        let id = NotificationId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        lock(&self.shown).push((id, notification.clone()));
        Ok(id)
    }

    fn close(&self, id: NotificationId) {
        lock(&self.closed).push(id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_keeps_shown_and_closed() {
        let recorder = RecordingNotifier::new();
        let n = Notification {
            summary: "Report: Jam".into(),
            body: "A1".into(),
            urgency: Urgency::Normal,
            sound: Some(Tone::new("normal", 80)),
            expire: Expire::Default,
            actions: vec![],
            alert: Some(AlertKey::new(&ServerId::from_stored("http://a"), "C-1")),
            category: Category::Alert(Priority::Normal),
            repeat: 0,
        };
        let first = recorder.show(&n).unwrap();
        let second = recorder.show(&n).unwrap();
        assert_ne!(first, second);
        recorder.close(first);
        assert_eq!(recorder.count(), 2);
        assert_eq!(recorder.closed(), [first]);
        assert_eq!(n.sound.as_ref().unwrap().file, "tones/normal.oga");
        assert_eq!(recorder.take().len(), 2);
        assert_eq!(recorder.count(), 0);
    }

    #[test]
    fn categories_are_vendor_hints_by_priority() {
        let hints: Vec<String> = [
            Category::Alert(Priority::Low),
            Category::Alert(Priority::Normal),
            Category::Alert(Priority::High),
            Category::Alert(Priority::Critical),
            Category::Summary,
            Category::Link,
        ]
        .into_iter()
        .map(Category::hint)
        .collect();
        assert_eq!(
            hints,
            [
                "x-alertdesk.alert.low",
                "x-alertdesk.alert.normal",
                "x-alertdesk.alert.high",
                "x-alertdesk.alert.critical",
                "x-alertdesk.summary",
                "x-alertdesk.connection"
            ]
        );
        assert!(Category::Alert(Priority::Low).is_alert() && !Category::Summary.is_alert());
    }
}
