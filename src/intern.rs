//! String interning: each distinct property value is stored once per run
//! and records hold 4-byte symbols. A million-row mailbox repeats a few
//! thousand distinct IPs, agents, folders, senders and subjects, so this is
//! what keeps memory well below the input size.

use indexmap::IndexSet;
use std::hash::RandomState;

/// An interned string; `Sym::EMPTY` is "".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Sym(u32);

impl Sym {
    pub const EMPTY: Sym = Sym(0);

    pub fn is_empty(self) -> bool {
        self == Sym::EMPTY
    }

    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn from_index(index: u32) -> Sym {
        Sym(index)
    }
}

/// The strings, each stored once: a symbol is its position in the set.
/// Hashed with std's keyed SipHash, not FxHash: the values come from the
/// export, and a forged file of colliding values must not make interning
/// quadratic (the cost is about 3% of a run's CPU).
#[derive(Debug)]
pub struct Strings {
    set: IndexSet<Box<str>, RandomState>,
    /// Recently interned short values by a hash-free slot (length and end
    /// bytes): most property values repeat ("True", "5", "Inbox"), and a
    /// slot compare is cheaper than SipHash.
    recent: [Sym; RECENT_SLOTS],
}

const RECENT_SLOTS: usize = 64;

fn recent_slot(text: &str) -> usize {
    let b = text.as_bytes();
    let (first, last) = (
        b.first().copied().unwrap_or(0),
        b.last().copied().unwrap_or(0),
    );
    (b.len() ^ usize::from(first) << 2 ^ usize::from(last) << 4) % RECENT_SLOTS
}

impl Default for Strings {
    fn default() -> Self {
        let mut set = IndexSet::default();
        set.insert("".into()); // Sym::EMPTY
        Strings {
            set,
            recent: [Sym::EMPTY; RECENT_SLOTS],
        }
    }
}

impl Strings {
    pub fn intern(&mut self, text: &str) -> Sym {
        let slot = recent_slot(text);
        let cached = self.recent[slot];
        if self.get(cached) == text {
            return cached;
        }
        let found = match self.set.get_index_of(text) {
            Some(index) => sym(index),
            None => sym(self.set.insert_full(text.into()).0),
        };
        self.recent[slot] = found;
        found
    }

    pub fn get(&self, sym: Sym) -> &str {
        self.set.get_index(sym.index()).map_or("", |s| s)
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.len() <= 1
    }

    /// Moves `other`'s strings into `self`; returns the map from `other`'s
    /// symbols (by index) to `self`'s.
    pub fn absorb(&mut self, other: Strings) -> Vec<Sym> {
        other
            .set
            .into_iter()
            .map(|text| match self.set.get_index_of(&text) {
                Some(index) => sym(index),
                None => sym(self.set.insert_full(text).0),
            })
            .collect()
    }
}

/// More than 2^32 distinct strings cannot come from one run's inputs within
/// the row limits; saturate rather than wrap.
fn sym(index: usize) -> Sym {
    Sym(u32::try_from(index).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever the slot collisions of the recent-values cache, a string
        /// always gets the one symbol that reads back as itself.
        #[test]
        fn symbols_are_stable_and_distinct(words in proptest::collection::vec("[ab]{0,3}", 1..40)) {
            let mut s = Strings::default();
            let first: Vec<Sym> = words.iter().map(|w| s.intern(w)).collect();
            for (w, &sym) in words.iter().zip(&first).rev() {
                proptest::prop_assert_eq!(s.intern(w), sym);
                proptest::prop_assert_eq!(s.get(sym), w.as_str());
                proptest::prop_assert_eq!(sym == Sym::EMPTY, w.is_empty());
            }
            let distinct: std::collections::HashSet<&String> = words.iter().collect();
            proptest::prop_assert_eq!(s.len(), distinct.len() + usize::from(!distinct.contains(&String::new())));
        }
    }

    #[test]
    fn interns_once_and_merges() {
        let mut a = Strings::default();
        let x = a.intern("wire");
        assert_eq!(a.intern("wire"), x);
        assert_eq!(a.get(x), "wire");
        assert_eq!(a.intern(""), Sym::EMPTY);
        let mut b = Strings::default();
        let y = b.intern("bacs");
        let z = b.intern("wire");
        let remap = a.absorb(b);
        assert_eq!(a.get(remap[y.index()]), "bacs");
        assert_eq!(remap[z.index()], x);
    }
}
