//! What a bounded queue drops past its bound, counted and said: a warning at the first drop and then at most
//! once every [`Dropped::EVERY`], each with the total so far, so a flood is visible in the log without
//! flooding it.

use std::time::{Duration, Instant};

/// Counts what a bounded queue dropped and says so now and then.
#[derive(Debug)]
pub(crate) struct Dropped {
    /// What was dropped, as said in the warning ("notifications", "texts to read aloud").
    what: &'static str,
    /// Why, as said in the warning.
    why: &'static str,
    total: u64,
    said: Option<Instant>,
}

impl Dropped {
    /// The least time between two warnings.
    pub(crate) const EVERY: Duration = Duration::from_secs(10);

    /// A counter for `what`, dropped because of `why`.
    pub(crate) const fn new(what: &'static str, why: &'static str) -> Self {
        Self {
            what,
            why,
            total: 0,
            said: None,
        }
    }

    /// Counts one dropped item; warns when the last warning is old enough.
    pub(crate) fn note(&mut self) {
        self.total += 1;
        let now = Instant::now();
        if self
            .said
            .is_none_or(|at| now.duration_since(at) >= Self::EVERY)
        {
            tracing::warn!(
                dropped = self.total,
                "{}: {} {} dropped so far",
                self.why,
                self.total,
                self.what
            );
            self.said = Some(now);
        }
    }

    /// How many were dropped so far.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drop_is_counted() {
        let mut dropped = Dropped::new("notifications", "the queue is full");
        assert_eq!(dropped.total(), 0);
        for _ in 0..5 {
            dropped.note();
        }
        assert_eq!(dropped.total(), 5);
        assert!(dropped.said.is_some(), "the first drop is said");
    }
}
