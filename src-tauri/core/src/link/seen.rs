//! The records a list-fetching rule has already seen, bounded for a link that stays up all shift.
//!
//! Each key remembers the read it was last seen in (one list answer, or one record fetched by id). The keys of
//! the latest read are always kept, because that answer is what the next one is compared with; beyond
//! [`Seen::KEEP`] keys, the ones not seen for the longest are forgotten. A forgotten key belongs to a record that
//! left the list long ago: should it ever come back it is announced again, and the history, keyed by record id,
//! takes it as the duplicate it is (nothing is notified twice). So memory stays within `KEEP` keys plus one
//! list answer (itself within `[network] max_body_mib`) per rule.

use std::collections::HashMap;

/// One rule's seen records.
#[derive(Debug, Default)]
pub struct Seen {
    /// Key -> the read it was last seen in.
    last: HashMap<String, u64>,
    /// The current read.
    clock: u64,
    /// The list was read once, so what it holds from now on that is not here is new.
    primed: bool,
}

impl Seen {
    /// Keys kept beyond those of the latest read.
    pub const KEEP: usize = 4096;

    /// Starts a new read: keys marked from now on belong to it.
    pub fn next_read(&mut self) {
        self.clock += 1;
    }

    /// Marks `key` seen in the current read; whether it was not known.
    pub fn insert(&mut self, key: String) -> bool {
        self.last.insert(key, self.clock).is_none()
    }

    /// Whether the list was read once.
    pub fn is_primed(&self) -> bool {
        self.primed
    }

    /// Notes that the list was read once.
    pub fn set_primed(&mut self) {
        self.primed = true;
    }

    /// How many keys are kept.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether no key is kept.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    /// Forgets the keys seen longest ago, down to [`Seen::KEEP`], never one of the current read. Runs the sort
    /// only when a quarter more than `KEEP` piled up, so its cost is spread over many reads.
    pub fn prune(&mut self) {
        if self.last.len() <= Self::KEEP + Self::KEEP / 4 {
            return;
        }
        let mut reads: Vec<u64> = self.last.values().copied().collect();
        reads.sort_unstable();
        let oldest_kept = reads[reads.len() - Self::KEEP].min(self.clock);
        self.last.retain(|_, read| *read >= oldest_kept);
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn a_long_shift_stays_bounded_and_never_forgets_the_latest_read() {
        let mut seen = Seen::default();
        // A list of the 100 current records, read 6,000 times with one new record each time: 6,099 records in
        // all, more than KEEP.
        let mut announced = 0;
        for read in 0..6_000_u32 {
            seen.next_read();
            for id in read..read + 100 {
                if seen.insert(format!("r-{id}")) {
                    announced += 1;
                }
            }
            seen.prune();
            assert!(seen.len() <= Seen::KEEP + Seen::KEEP / 4, "{}", seen.len());
        }
        // Each record was announced once: none was forgotten while it was listed.
        assert_eq!(announced, 6_099);
        seen.next_read();
        for id in 5_999..6_099 {
            assert!(!seen.insert(format!("r-{id}")), "r-{id} announced again");
        }
        assert!(seen.insert("r-0".into()), "r-0 left the list long ago");
    }

    #[test]
    fn a_list_answer_larger_than_the_bound_is_kept_whole() {
        let mut seen = Seen::default();
        seen.next_read();
        for id in 0..Seen::KEEP * 2 {
            seen.insert(id.to_string());
        }
        seen.prune();
        assert_eq!(seen.len(), Seen::KEEP * 2);
        seen.next_read();
        for id in 0..Seen::KEEP * 2 {
            assert!(!seen.insert(id.to_string()), "{id} announced again");
        }
    }
}
