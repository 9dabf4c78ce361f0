//! The replicated log: entries by index from 1, each stamped with the term of the leader
//! that appended it. Index 0 is the empty prefix, term 0, which every log shares.

use crate::store::Op;
use serde::{Deserialize, Serialize};

/// One log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The term of the leader that appended it.
    pub term: u64,
    /// What to apply; `None` is the no-op a new leader appends to commit its predecessors'
    /// entries.
    pub op: Option<Op>,
}

/// A node's copy of the log.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// `entries[i - 1]` is index `i`.
    entries: Vec<Entry>,
}

impl Log {
    /// The index of the last entry (0 for an empty log).
    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The term of the last entry (0 for an empty log).
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// The term at `index`: 0 at index 0, `None` past the end.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        match index {
            0 => Some(0),
            i => self.get(i).map(|e| e.term),
        }
    }

    /// The entry at `index`, if there is one.
    pub fn get(&self, index: u64) -> Option<&Entry> {
        let i = usize::try_from(index.checked_sub(1)?).ok()?;
        self.entries.get(i)
    }

    /// Appends an entry (on the leader), returning its index.
    pub fn push(&mut self, entry: Entry) -> u64 {
        self.entries.push(entry);
        self.last_index()
    }

    /// At most `max` entries from `index` on.
    pub fn from(&self, index: u64, max: usize) -> &[Entry] {
        let start = usize::try_from(index.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(self.entries.len());
        let end = start.saturating_add(max).min(self.entries.len());
        &self.entries[start..end]
    }

    /// Whether a log ending at `(last_index, last_term)` is at least as up to date as this
    /// one: its last term is later, or the same and it is at least as long (Raft §5.4.1).
    /// Votes go only to such logs, so that a leader holds every committed entry.
    pub fn up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }

    /// A follower takes `entries`, which the leader placed after `(prev_index, prev_term)`.
    ///
    /// If this log holds that entry, entries it already has are skipped and the first
    /// conflicting one truncates the log there (an entry that conflicts was never committed:
    /// the leader holds every committed entry). A delayed message with fewer entries than
    /// the log holds therefore truncates nothing. Returns the index up to which this log now
    /// matches the leader's.
    ///
    /// If it does not hold it, returns where the leader should try next: past the end of a
    /// log that is too short, or the first index of the conflicting term, so that a whole
    /// term of stale entries costs one round trip instead of one per entry.
    pub fn accept(
        &mut self,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
    ) -> Result<u64, u64> {
        match self.term_at(prev_index) {
            None => return Err(self.last_index() + 1),
            Some(term) if term != prev_term => {
                let mut first = prev_index;
                while first > 1 && self.term_at(first - 1) == Some(term) {
                    first -= 1;
                }
                return Err(first);
            }
            Some(_) => {}
        }
        let count = entries.len() as u64;
        for (index, entry) in (prev_index + 1..).zip(entries) {
            match self.term_at(index) {
                Some(term) if term == entry.term => {}
                Some(_) => {
                    self.entries.truncate((index - 1) as usize);
                    self.entries.push(entry);
                }
                None => self.entries.push(entry),
            }
        }
        Ok(prev_index + count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(terms: &[u64]) -> Vec<Entry> {
        terms.iter().map(|&term| Entry { term, op: None }).collect()
    }

    fn log(terms: &[u64]) -> Log {
        Log {
            entries: entries(terms),
        }
    }

    fn terms(log: &Log) -> Vec<u64> {
        log.entries.iter().map(|e| e.term).collect()
    }

    #[test]
    fn entries_after_a_matching_entry_are_taken_and_conflicts_truncate() {
        let mut l = log(&[1, 1, 2, 2]);
        assert_eq!(l.accept(2, 1, entries(&[3, 3])), Ok(4));
        assert_eq!(terms(&l), [1, 1, 3, 3]);
        assert_eq!(l.accept(4, 3, entries(&[3])), Ok(5));
        assert_eq!(terms(&l), [1, 1, 3, 3, 3]);
    }

    #[test]
    fn a_delayed_shorter_append_truncates_nothing() {
        let mut l = log(&[1, 1, 1]);
        assert_eq!(l.accept(0, 0, entries(&[1])), Ok(1));
        assert_eq!(terms(&l), [1, 1, 1], "entries past the message's are kept");
    }

    #[test]
    fn a_missing_or_conflicting_previous_entry_is_refused_with_where_to_retry() {
        let mut l = log(&[1, 2, 2, 2]);
        assert_eq!(
            l.accept(6, 2, entries(&[2])),
            Err(5),
            "too short: after the end"
        );
        assert_eq!(l.accept(4, 3, entries(&[3])), Err(2), "the start of term 2");
        assert_eq!(terms(&l), [1, 2, 2, 2], "a refusal changes nothing");
    }

    #[test]
    fn only_logs_at_least_as_up_to_date_win_votes() {
        let l = log(&[1, 2, 2]);
        assert!(l.up_to_date(3, 2));
        assert!(l.up_to_date(1, 3), "a later last term wins over length");
        assert!(!l.up_to_date(2, 2));
        assert!(!l.up_to_date(9, 1));
    }

    #[test]
    fn ranges_past_the_end_are_empty() {
        let l = log(&[1, 1, 1]);
        assert_eq!(l.from(2, 10).len(), 2);
        assert_eq!(l.from(2, 1).len(), 1);
        assert!(l.from(4, 10).is_empty());
        assert!(l.from(u64::MAX, 10).is_empty());
        assert_eq!(l.term_at(0), Some(0));
        assert_eq!(l.term_at(4), None);
    }
}
