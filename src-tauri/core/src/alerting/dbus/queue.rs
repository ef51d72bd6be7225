//! The notifier's request queue: what [`super::DbusNotifier`] was asked and its worker has not done yet,
//! bounded at [`CAPACITY`].
//!
//! Past the bound, room is made by dropping, in this order: the oldest waiting notification that is not
//! critical, then the oldest waiting close. When neither is waiting (the queue is all critical notifications) a
//! new ordinary notification or close is dropped, and a new critical one is refused: [`Pushed::Refused`] makes
//! [`crate::alerting::notify::Notifier::show`] fail, the policy logs it, and a critical alert comes back at its
//! next repeat. A critical notification is never dropped silently. Every drop is counted and warned about
//! ([`Dropped`]).
//!
//! Closing a notification still waiting to be shown takes it out of the queue: it is never shown.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::alerting::bounded::Dropped;
use crate::alerting::notify::{Notification, NotificationId, Urgency};

/// The most requests waiting for the worker.
pub(super) const CAPACITY: usize = 128;

/// A request to the worker.
#[derive(Debug)]
pub(super) enum Command {
    /// Show this notification under this id.
    Show(NotificationId, Notification),
    /// Take this notification off the screen.
    Close(NotificationId),
}

impl Command {
    fn critical(&self) -> bool {
        matches!(self, Self::Show(_, n) if n.urgency == Urgency::Critical)
    }
}

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pushed {
    /// Waiting for the worker.
    Queued,
    /// A close that took its notification out of the queue before it was shown.
    Cancelled,
    /// Dropped: the queue is full of critical notifications and this request is not one.
    Dropped,
    /// A critical notification that does not fit: the queue is full of critical notifications.
    Refused,
    /// The worker is gone.
    Closed,
}

/// The requests waiting, oldest first (plain data: the bound's rules, tested without a runtime).
#[derive(Debug)]
pub(super) struct Commands {
    items: VecDeque<Command>,
    capacity: usize,
    dropped: Dropped,
    closed: bool,
}

impl Commands {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::with_capacity(capacity),
            capacity,
            dropped: Dropped::new(
                "notifications or closes",
                "too many notifications waiting for the notification service",
            ),
            closed: false,
        }
    }

    /// Queues `command`, making room by the rules of the [module](self).
    pub(super) fn push(&mut self, command: Command) -> Pushed {
        if self.closed {
            return Pushed::Closed;
        }
        if let Command::Close(id) = &command {
            let waiting = self
                .items
                .iter()
                .position(|c| matches!(c, Command::Show(shown, _) if shown == id));
            if let Some(at) = waiting {
                self.items.remove(at);
                return Pushed::Cancelled;
            }
        }
        if self.items.len() >= self.capacity {
            let victim = self
                .items
                .iter()
                .position(|c| matches!(c, Command::Show(..)) && !c.critical())
                .or_else(|| {
                    self.items
                        .iter()
                        .position(|c| matches!(c, Command::Close(_)))
                });
            match victim {
                Some(at) => {
                    self.items.remove(at);
                    self.dropped.note();
                }
                None if command.critical() => return Pushed::Refused,
                None => {
                    self.dropped.note();
                    return Pushed::Dropped;
                }
            }
        }
        self.items.push_back(command);
        Pushed::Queued
    }

    /// The oldest request.
    pub(super) fn pop(&mut self) -> Option<Command> {
        self.items.pop_front()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// How many requests were dropped so far.
    #[cfg(test)]
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.total()
    }
}

/// [`Commands`] shared between the notifier (any thread) and its worker (a task that waits for them).
#[derive(Debug)]
pub(super) struct Queue {
    commands: Mutex<Commands>,
    ready: tokio::sync::Notify,
}

impl Queue {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            commands: Mutex::new(Commands::new(capacity)),
            ready: tokio::sync::Notify::new(),
        }
    }

    pub(super) fn push(&self, command: Command) -> Pushed {
        let pushed = self.lock().push(command);
        if pushed == Pushed::Queued {
            self.ready.notify_one();
        }
        pushed
    }

    /// No more requests: the worker ends once it has done those waiting.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// The next request, waiting for one; `None` once closed and empty. Cancel-safe: a request is taken only
    /// when it is returned.
    pub(super) async fn next(&self) -> Option<Command> {
        loop {
            {
                let mut commands = self.lock();
                if let Some(command) = commands.pop() {
                    return Some(command);
                }
                if commands.closed {
                    return None;
                }
            }
            // A push between the unlock and here leaves a permit: this returns at once.
            self.ready.notified().await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Commands> {
        self.commands.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(super) fn dropped(&self) -> u64 {
        self.lock().dropped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::{Category, Expire};

    fn notification(summary: &str, urgency: Urgency) -> Notification {
        Notification {
            summary: summary.into(),
            body: String::new(),
            urgency,
            sound: None,
            expire: Expire::Default,
            actions: vec![],
            alert: None,
            category: Category::Alert(crate::domain::Priority::Critical),
            repeat: 0,
        }
    }

    fn show(id: u64, urgency: Urgency) -> Command {
        Command::Show(NotificationId(id), notification(&format!("n{id}"), urgency))
    }

    fn ids(commands: &mut Commands) -> Vec<u64> {
        std::iter::from_fn(|| commands.pop())
            .map(|c| match c {
                Command::Show(id, _) | Command::Close(id) => id.0,
            })
            .collect()
    }

    #[test]
    fn past_the_bound_the_oldest_ordinary_notification_goes() {
        let mut commands = Commands::new(4);
        assert_eq!(commands.push(show(1, Urgency::Critical)), Pushed::Queued);
        for id in 2..=4 {
            assert_eq!(commands.push(show(id, Urgency::Normal)), Pushed::Queued);
        }
        // Full: each new one pushes out the oldest ordinary one, never the critical one.
        for id in 5..=20 {
            assert_eq!(commands.push(show(id, Urgency::Low)), Pushed::Queued);
            assert_eq!(commands.len(), 4);
        }
        assert_eq!(commands.dropped(), 16);
        assert_eq!(ids(&mut commands), [1, 18, 19, 20]);
    }

    #[test]
    fn critical_notifications_are_never_dropped_silently() {
        let mut commands = Commands::new(3);
        commands.push(show(1, Urgency::Normal));
        commands.push(Command::Close(NotificationId(90)));
        commands.push(show(2, Urgency::Critical));
        // Room for critical ones: first the ordinary notification goes, then the close.
        assert_eq!(commands.push(show(3, Urgency::Critical)), Pushed::Queued);
        assert_eq!(commands.push(show(4, Urgency::Critical)), Pushed::Queued);
        assert_eq!(commands.dropped(), 2);
        // All critical now: an ordinary one or a close is dropped (counted), a critical one refused (said by
        // the caller), and what waits is untouched.
        assert_eq!(commands.push(show(5, Urgency::Normal)), Pushed::Dropped);
        assert_eq!(
            commands.push(Command::Close(NotificationId(91))),
            Pushed::Dropped
        );
        assert_eq!(commands.push(show(6, Urgency::Critical)), Pushed::Refused);
        assert_eq!(commands.dropped(), 4);
        assert_eq!(ids(&mut commands), [2, 3, 4]);
    }

    #[test]
    fn closing_a_waiting_notification_takes_it_out() {
        let mut commands = Commands::new(8);
        commands.push(show(1, Urgency::Normal));
        commands.push(show(2, Urgency::Critical));
        assert_eq!(
            commands.push(Command::Close(NotificationId(2))),
            Pushed::Cancelled
        );
        assert_eq!(
            commands.push(Command::Close(NotificationId(7))),
            Pushed::Queued
        );
        assert_eq!(ids(&mut commands), [1, 7]);
        assert_eq!(commands.dropped(), 0);
    }

    #[tokio::test]
    async fn the_worker_gets_everything_in_order_then_the_end() {
        let queue = std::sync::Arc::new(Queue::new(CAPACITY));
        let worker = {
            let queue = std::sync::Arc::clone(&queue);
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(Command::Show(id, _)) = queue.next().await {
                    got.push(id.0);
                }
                got
            })
        };
        for id in 1..=50 {
            assert_eq!(queue.push(show(id, Urgency::Normal)), Pushed::Queued);
            if id % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        queue.close();
        assert_eq!(queue.push(show(99, Urgency::Normal)), Pushed::Closed);
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), worker)
            .await
            .expect("the worker ends once closed")
            .unwrap();
        assert_eq!(got, (1..=50).collect::<Vec<_>>());
        assert_eq!(queue.dropped(), 0);
    }
}
