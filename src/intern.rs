//! String interning: each distinct property value is stored once per run
//! and records hold 4-byte symbols. A million-row mailbox repeats a few
//! thousand distinct IPs, agents, folders, senders and subjects, so this is
//! what keeps memory well below the input size.

use rustc_hash::FxHashMap;

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

#[derive(Debug)]
pub struct Strings {
    map: FxHashMap<Box<str>, Sym>,
    list: Vec<Box<str>>,
}

impl Default for Strings {
    fn default() -> Self {
        let mut s = Strings {
            map: FxHashMap::default(),
            list: Vec::new(),
        };
        s.intern("");
        s
    }
}

impl Strings {
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(&sym) = self.map.get(text) {
            return sym;
        }
        // More than 2^32 distinct strings cannot come from one run's inputs
        // within the row limits; saturate rather than wrap.
        let sym = Sym(u32::try_from(self.list.len()).unwrap_or(u32::MAX));
        self.list.push(text.into());
        self.map.insert(text.into(), sym);
        sym
    }

    pub fn get(&self, sym: Sym) -> &str {
        self.list.get(sym.index()).map_or("", |s| s)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.len() <= 1
    }

    /// Moves `other`'s strings into `self`; returns the map from `other`'s
    /// symbols (by index) to `self`'s.
    pub fn absorb(&mut self, other: Strings) -> Vec<Sym> {
        other.list.iter().map(|s| self.intern(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
