//! Idempotency keys: a client that resends a batch it sent before (its
//! connection was cut before the answer, the engine was killed between the
//! checkpoint and the answer) names it with the same key, and the engine
//! processes it once. Keys are remembered with the checkpoint, so a resend
//! after a restart is recognised too; at most [`MAX_KEYS`] keys, none older
//! than [`MAX_AGE_MS`], are kept.

use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};

/// Keys remembered at most (the oldest go first).
pub const MAX_KEYS: usize = 10_000;
/// A key is forgotten a day after its batch was processed.
pub const MAX_AGE_MS: i64 = 24 * 3600 * 1000;
/// Longest key accepted (a longer one is refused with 400).
pub const MAX_KEY_LEN: usize = 256;

#[derive(Debug, Default, Clone)]
pub struct Keys {
    order: VecDeque<(String, i64)>,
    set: HashSet<String>,
}

/// What the checkpoint keeps: (key, wall-clock ms when processed).
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeysState(pub Vec<(String, i64)>);

impl Keys {
    pub fn restore(s: KeysState) -> Keys {
        let mut k = Keys::default();
        for (key, at) in s.0 {
            k.insert(key, at);
        }
        k
    }

    pub fn snapshot(&self) -> KeysState {
        KeysState(self.order.iter().cloned().collect())
    }

    /// Has a batch with this key been processed (within the last day)?
    pub fn seen(&mut self, key: &str, now_ms: i64) -> bool {
        self.expire(now_ms);
        self.set.contains(key)
    }

    /// Remember a processed batch's key.
    pub fn insert(&mut self, key: String, now_ms: i64) {
        if self.set.insert(key.clone()) {
            self.order.push_back((key, now_ms));
        }
        while self.order.len() > MAX_KEYS {
            if let Some((k, _)) = self.order.pop_front() {
                self.set.remove(&k);
            }
        }
    }

    fn expire(&mut self, now_ms: i64) {
        while self.order.front().is_some_and(|(_, at)| now_ms.saturating_sub(*at) > MAX_AGE_MS) {
            if let Some((k, _)) = self.order.pop_front() {
                self.set.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_in_number_and_age() {
        let mut k = Keys::default();
        k.insert("a".into(), 0);
        assert!(k.seen("a", 1));
        assert!(!k.seen("a", MAX_AGE_MS + 1));
        for i in 0..MAX_KEYS + 5 {
            k.insert(i.to_string(), 10);
        }
        assert!(!k.seen("0", 11));
        assert!(k.seen(&(MAX_KEYS + 4).to_string(), 11));
        assert_eq!(Keys::restore(k.snapshot()).snapshot(), k.snapshot());
    }
}
