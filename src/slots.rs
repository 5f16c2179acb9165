//! Counted slots with a cap per key: how many of something one key holds at once (open
//! connections per client address, chat sockets per user). A slot is held by its `Slot`
//! guard and given back when the guard is dropped, however its holder ends.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

type Held<K> = Arc<Mutex<HashMap<K, usize>>>;

pub struct Slots<K: Hash + Eq> {
    /// Slots held per key; a key holding none is not kept.
    held: Held<K>,
    cap: usize,
}

impl<K: Hash + Eq + Clone> Slots<K> {
    /// At most `cap` slots per key (`usize::MAX`: no cap, only counting).
    pub fn new(cap: usize) -> Slots<K> {
        Slots {
            held: Arc::default(),
            cap,
        }
    }

    /// One of `key`'s slots, or `None` when it holds `cap` already.
    pub fn take(&self, key: K) -> Option<Slot<K>> {
        let mut held = self.held.lock().expect("slots lock");
        let count = held.entry(key.clone()).or_insert(0);
        if *count >= self.cap {
            if *count == 0 {
                held.remove(&key);
            }
            return None;
        }
        *count += 1;
        Some(Slot {
            held: self.held.clone(),
            key,
        })
    }
}

/// One slot of a key, given back on drop.
pub struct Slot<K: Hash + Eq> {
    held: Held<K>,
    key: K,
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self.held.lock().expect("slots lock");
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_at_most_cap_slots_and_gets_them_back_on_drop() {
        let slots = Slots::new(2);
        let first = slots.take("a").unwrap();
        let _second = slots.take("a").unwrap();
        assert!(slots.take("a").is_none(), "the third is refused");
        let _other = slots.take("b").expect("another key has its own slots");
        drop(first);
        assert_eq!(slots.held.lock().unwrap()[&"a"], 1);
        assert!(slots.take("a").is_some(), "a slot given back can be taken again");
    }

    #[test]
    fn keys_holding_nothing_are_forgotten() {
        let slots = Slots::new(1);
        drop(slots.take(1).unwrap());
        let closed = Slots::<u8>::new(0);
        assert!(closed.take(1).is_none());
        assert!(slots.held.lock().unwrap().is_empty());
        assert!(closed.held.lock().unwrap().is_empty());
    }
}
