//! What the notifier remembers of each notification on screen: the notification server's id for it (to close
//! it) and the alert it is about (to route a click on its buttons), under our [`NotificationId`].
//!
//! An entry goes when the server says its notification closed (`NotificationClosed`: expired, dismissed, clicked,
//! or closed by us), or when the server hands its id to a newer notification (replaced). One we closed is kept
//! until the server confirms it, so a click already on its way still reaches its alert. Servers that never say
//! (some send no `NotificationClosed` for expired ones) would leave entries behind, so there are at most
//! [`CAPACITY`]: past it the oldest one we closed goes first, then the oldest that expires by itself, and the
//! oldest that stays until dismissed (critical) only when every entry is one. A forgotten notification's
//! buttons no longer reach Alertdesk, and it can no longer be closed.

use std::collections::{BTreeMap, HashMap};

use crate::alerting::notify::{AlertKey, NotificationId};

/// The most notifications remembered.
pub(super) const CAPACITY: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The notification server's id.
    server: u32,
    /// The alert it is about (`None`: a summary or a link notice).
    alert: Option<AlertKey>,
    /// Stays until dismissed (`Expire::Never`): kept over those that expire.
    sticky: bool,
    /// We asked the server to close it; it goes when the server says it did.
    closing: bool,
}

/// The notifications on screen (see the [module](self)).
#[derive(Debug)]
pub(super) struct Shown {
    /// By our id, which grows: the first entry is the oldest.
    entries: BTreeMap<NotificationId, Entry>,
    /// Our id for each of the server's.
    by_server: HashMap<u32, NotificationId>,
    capacity: usize,
    forgotten: u64,
}

impl Shown {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: BTreeMap::new(),
            by_server: HashMap::new(),
            capacity,
            forgotten: 0,
        }
    }

    /// Notification `id` was shown as the server's `server`.
    pub(super) fn insert(
        &mut self,
        id: NotificationId,
        server: u32,
        alert: Option<AlertKey>,
        sticky: bool,
    ) {
        // The server gave this id to a new notification: the one that had it was replaced.
        if let Some(replaced) = self.by_server.insert(server, id) {
            self.entries.remove(&replaced);
        }
        if self.entries.len() >= self.capacity {
            self.forget_one();
        }
        self.entries.insert(
            id,
            Entry {
                server,
                alert,
                sticky,
                closing: false,
            },
        );
    }

    /// Makes room: the oldest closing entry, else the oldest that expires by itself, else the oldest.
    fn forget_one(&mut self) {
        let oldest = self
            .entries
            .iter()
            .find(|(_, e)| e.closing)
            .or_else(|| self.entries.iter().find(|(_, e)| !e.sticky))
            .or_else(|| self.entries.iter().next())
            .map(|(id, e)| (*id, e.server));
        if let Some((id, server)) = oldest {
            self.entries.remove(&id);
            self.by_server.remove(&server);
            self.forgotten += 1;
            tracing::debug!(
                forgotten = self.forgotten,
                "more than {} notifications remembered: the oldest is forgotten",
                self.capacity
            );
        }
    }

    /// We close `id`: returns the server's id for it, once (`None`: closing already, gone, or never shown). It is
    /// forgotten when the server says it closed.
    pub(super) fn close(&mut self, id: NotificationId) -> Option<u32> {
        let entry = self.entries.get_mut(&id)?;
        if std::mem::replace(&mut entry.closing, true) {
            return None;
        }
        Some(entry.server)
    }

    /// The server says its notification `server` closed (expired, dismissed, clicked, or closed by us).
    pub(super) fn closed(&mut self, server: u32) {
        if let Some(id) = self.by_server.remove(&server) {
            self.entries.remove(&id);
        }
    }

    /// The alert of the server's notification `server`, for a click on it.
    pub(super) fn alert(&self, server: u32) -> Option<&AlertKey> {
        let id = self.by_server.get(&server)?;
        self.entries.get(id)?.alert.as_ref()
    }

    /// Forgets everything (the connection to the bus was lost: the server's ids meant that bus).
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.by_server.clear();
    }

    pub(super) fn len(&self) -> usize {
        debug_assert_eq!(self.entries.len(), self.by_server.len());
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ServerId;

    fn key(id: &str) -> AlertKey {
        AlertKey::new(&ServerId::from_stored("http://a"), id)
    }

    #[test]
    fn an_entry_goes_when_its_notification_goes() {
        let mut shown = Shown::new(CAPACITY);
        shown.insert(NotificationId(1), 10, Some(key("a")), false);
        shown.insert(NotificationId(2), 11, Some(key("b")), true);
        shown.insert(NotificationId(3), 12, None, false);
        assert_eq!(shown.alert(10), Some(&key("a")));
        assert_eq!(shown.alert(12), None, "a summary has no alert");

        // Closed by us: the server's id to close comes back once; a click already on its way still counts
        // until the server confirms the close.
        assert_eq!(shown.close(NotificationId(2)), Some(11));
        assert_eq!(shown.close(NotificationId(2)), None);
        assert_eq!(shown.alert(11), Some(&key("b")));
        shown.closed(11);
        assert_eq!(shown.alert(11), None);
        // Expired or dismissed: the server says so.
        shown.closed(10);
        shown.closed(10);
        assert_eq!(shown.alert(10), None);
        // Unknown ids change nothing.
        shown.closed(99);
        assert_eq!(shown.close(NotificationId(77)), None);
        assert_eq!(shown.len(), 1);
        shown.closed(12);
        assert_eq!(shown.len(), 0);
    }

    #[test]
    fn a_replaced_notification_is_forgotten() {
        let mut shown = Shown::new(CAPACITY);
        shown.insert(NotificationId(1), 10, Some(key("a")), false);
        // The server reused 10 for the next one (it replaced the first).
        shown.insert(NotificationId(2), 10, Some(key("b")), false);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown.alert(10), Some(&key("b")));
        assert_eq!(shown.close(NotificationId(1)), None);
        assert_eq!(shown.close(NotificationId(2)), Some(10));
        shown.closed(10);
        assert_eq!(shown.len(), 0);
    }

    #[test]
    fn a_server_that_never_says_cannot_grow_it() {
        let mut shown = Shown::new(8);
        // Two that stay until dismissed, then thousands the server never says expired.
        shown.insert(NotificationId(1), 1, Some(key("critical-1")), true);
        shown.insert(NotificationId(2), 2, Some(key("critical-2")), true);
        for n in 3..5000_u32 {
            shown.insert(
                NotificationId(u64::from(n)),
                n,
                Some(key(&n.to_string())),
                false,
            );
            assert!(shown.len() <= 8);
        }
        assert_eq!(shown.len(), 8);
        // The critical ones are still there, with the newest ordinary ones.
        assert_eq!(shown.alert(1), Some(&key("critical-1")));
        assert_eq!(shown.alert(2), Some(&key("critical-2")));
        assert!(shown.alert(4999).is_some() && shown.alert(4994).is_some());
        assert!(shown.alert(4993).is_none());
        // Closed by us but never confirmed: those go first.
        shown.close(NotificationId(4999));
        shown.insert(NotificationId(49_990), 49_990, None, false);
        assert!(shown.alert(4999).is_none() && shown.alert(4998).is_some());
        // All sticky: the oldest sticky one goes.
        for n in 5000..5010_u32 {
            shown.insert(NotificationId(u64::from(n)), n, None, true);
        }
        assert_eq!(shown.len(), 8);
        assert!(shown.alert(1).is_none());
        shown.clear();
        assert_eq!(shown.len(), 0);
    }
}
