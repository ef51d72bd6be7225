//! The history for async callers: the [`Store`] on a thread of its own that owns the connection, taking work
//! in order through a channel. No lock to share, no blocking task per batch, and the async threads never wait
//! on the disk.
//!
//! Work runs in the order it was sent, so a batch applied before a read is seen by that read. The thread ends
//! when the last [`History`] handle is dropped, after the work already queued ([`HistoryThread::join`] waits).
//!
//! Checkpoints (copying the WAL into the file, with an `fsync`) run on a second thread with a connection of its
//! own, a moment after work was done, so a commit that happens to fill the WAL does not wait for the disk while an
//! alert waits for it. The writer still checkpoints by itself if the WAL grows past [`BACKSTOP_PAGES`] (the
//! checkpoint thread could not open the file, or cannot keep up).

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::{Store, StoreError};

type Job = Box<dyn FnOnce(&Store) + Send>;

/// How long after work the checkpoint thread waits (more work meanwhile joins the same checkpoint).
const CHECKPOINT_AFTER: Duration = Duration::from_millis(250);

/// WAL pages past which the writer checkpoints by itself (SQLite's default is 1,000; pages are 4 KiB).
pub(super) const BACKSTOP_PAGES: u32 = 10_000;

/// A handle on the history thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct History {
    jobs: mpsc::Sender<Job>,
}

/// The threads themselves, to wait for at shutdown.
#[derive(Debug)]
pub struct HistoryThread(JoinHandle<()>, Option<JoinHandle<()>>);

impl History {
    /// Moves `store` onto its own thread (and its checkpoints onto another, for a file in WAL mode).
    pub fn start(store: Store) -> std::io::Result<(Self, HistoryThread)> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        let checkpoints = start_checkpoints(store.path(), nudged);
        if checkpoints.is_some() {
            if let Err(e) = store.set_wal_autocheckpoint(BACKSTOP_PAGES) {
                tracing::debug!("cannot leave checkpoints to their thread: {e}");
            }
        }
        let thread = std::thread::Builder::new()
            .name("alertdesk-history".into())
            .spawn(move || {
                for job in queue {
                    job(&store);
                    // Full: a checkpoint is due already.
                    let _ = nudge.try_send(());
                }
            })?;
        Ok((Self { jobs }, HistoryThread(thread, checkpoints)))
    }

    /// Runs `f` on the store and returns its result.
    pub async fn call<T, E>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            let _ = reply.send(f(store));
        });
        if self.jobs.send(job).is_err() {
            return Err(StoreError::Closed.into());
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Closed.into()))
    }
}

/// The checkpoint thread for the history file at `path`: after each nudge it waits [`CHECKPOINT_AFTER`] and
/// runs a passive checkpoint (one that never blocks the writer). It ends when the history thread does. `None`
/// (the writer checkpoints as usual) for a history in memory, or one not in WAL mode, or when it cannot start.
fn start_checkpoints(path: &Path, nudged: mpsc::Receiver<()>) -> Option<JoinHandle<()>> {
    if path == Path::new(":memory:") {
        return None;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(path, flags) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::debug!("no checkpoint thread: {e}");
            return None;
        }
    };
    let wal = conn
        .pragma_query_value(None, "journal_mode", |row| row.get::<_, String>(0))
        .is_ok_and(|mode| mode.eq_ignore_ascii_case("wal"));
    if !wal {
        return None;
    }
    let _ = conn.busy_timeout(Duration::from_secs(1));
    std::thread::Builder::new()
        .name("alertdesk-checkpoint".into())
        .spawn(move || {
            while nudged.recv().is_ok() {
                std::thread::sleep(CHECKPOINT_AFTER);
                while nudged.try_recv().is_ok() {}
                let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    row.get::<_, i64>(2)
                });
                if let Err(e) = done {
                    tracing::debug!("a checkpoint of the history failed: {e}");
                }
            }
        })
        .map_err(|e| tracing::debug!("no checkpoint thread: {e}"))
        .ok()
}

impl History {
    /// Runs `f` on the store without waiting for it (work whose result nobody needs now, such as noting
    /// notification times). It still runs in order with everything else.
    pub fn submit(&self, f: impl FnOnce(&Store) + Send + 'static) {
        if self.jobs.send(Box::new(f)).is_err() {
            tracing::warn!("the history thread is gone; a write was dropped");
        }
    }
}

impl HistoryThread {
    /// Waits for the thread to finish what was queued (call after dropping every [`History`]), and for the
    /// checkpoint thread.
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("the history thread panicked");
        }
        if let Some(checkpoints) = self.1 {
            if checkpoints.join().is_err() {
                tracing::error!("the checkpoint thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ServerId;
    use crate::store::Query;

    #[tokio::test]
    async fn work_runs_in_order_on_the_thread_and_ends_with_the_handles() {
        let (history, thread) = History::start(Store::open_in_memory().unwrap()).unwrap();
        let here = std::thread::current().id();
        let there = history
            .call(|_| Ok::<_, StoreError>(std::thread::current().id()))
            .await
            .unwrap();
        assert_ne!(here, there, "the store runs on its own thread");
        let server = ServerId::from_stored("http://a");
        let marked = history
            .call(move |store| store.mark_read(Some(&server), "nope"))
            .await;
        assert!(matches!(marked, Err(StoreError::NotFound { .. })));
        let listed = history.call(|store| store.list(&Query::default())).await;
        assert!(listed.unwrap().is_empty());
        drop(history);
        thread.join();
    }
}
