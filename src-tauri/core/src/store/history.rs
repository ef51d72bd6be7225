//! The history for async callers: the [`Store`] on a thread of its own that owns the connection, taking work
//! in order through a channel. No lock to share, no blocking task per batch, and the async threads never wait
//! on the disk.
//!
//! Work runs in the order it was sent, so a batch applied before a read is seen by that read. The thread ends
//! when the last [`History`] handle is dropped, after the work already queued ([`HistoryThread::join`] waits).

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::{Store, StoreError};

type Job = Box<dyn FnOnce(&Store) + Send>;

/// A handle on the history thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct History {
    jobs: mpsc::Sender<Job>,
}

/// The thread itself, to wait for at shutdown.
#[derive(Debug)]
pub struct HistoryThread(JoinHandle<()>);

impl History {
    /// Moves `store` onto its own thread.
    pub fn start(store: Store) -> std::io::Result<(Self, HistoryThread)> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("alertdesk-history".into())
            .spawn(move || {
                for job in queue {
                    job(&store);
                }
            })?;
        Ok((Self { jobs }, HistoryThread(thread)))
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
    /// Waits for the thread to finish what was queued (call after dropping every [`History`]).
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("the history thread panicked");
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
