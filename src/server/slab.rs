//! A table of records addressed by keys that go stale: a key names one record, and after the
//! record is removed the key finds nothing, even when its place holds a newer record.

/// A record's place in a [`Slab`] and the generation it was put there in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

struct Place<T> {
    gen: u32,
    value: Option<T>,
}

/// Records in places reused after removal; each reuse bumps the place's generation.
pub(crate) struct Slab<T> {
    places: Vec<Place<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Slab<T> {
        Slab {
            places: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// How many records are held.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The key the next [`insert`](Self::insert) will return.
    pub(crate) fn next_key(&self) -> Key {
        match self.free.last() {
            Some(&i) => Key {
                index: i,
                gen: self.places[i as usize].gen,
            },
            None => Key {
                index: self.places.len() as u32,
                gen: 0,
            },
        }
    }

    /// Puts `value` in a free place (the one [`next_key`](Self::next_key) named).
    #[inline]
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        match self.free.pop() {
            Some(index) => {
                let p = &mut self.places[index as usize];
                p.value = Some(value);
                Key { index, gen: p.gen }
            }
            None => {
                let index = self.places.len() as u32;
                self.places.push(Place {
                    gen: 0,
                    value: Some(value),
                });
                Key { index, gen: 0 }
            }
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        let p = self.places.get(key.index as usize)?;
        if p.gen == key.gen {
            p.value.as_ref()
        } else {
            None
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let p = self.places.get_mut(key.index as usize)?;
        if p.gen == key.gen {
            p.value.as_mut()
        } else {
            None
        }
    }

    /// The record at `index` whatever its generation, with its key.
    #[inline]
    pub(crate) fn at_mut(&mut self, index: u32) -> Option<(Key, &mut T)> {
        let p = self.places.get_mut(index as usize)?;
        let gen = p.gen;
        p.value.as_mut().map(|v| (Key { index, gen }, v))
    }

    /// Removes the record `key` names if `take` says so.
    #[inline]
    pub(crate) fn remove_if(&mut self, key: Key, take: impl FnOnce(&T) -> bool) -> Option<T> {
        let p = self.places.get_mut(key.index as usize)?;
        if p.gen != key.gen || !p.value.as_ref().is_some_and(take) {
            return None;
        }
        let v = p.value.take();
        p.gen = p.gen.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        v
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let p = self.places.get_mut(key.index as usize)?;
        if p.gen != key.gen {
            return None;
        }
        let v = p.value.take()?;
        p.gen = p.gen.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        Some(v)
    }

    /// The keys of every record held.
    pub(crate) fn keys(&self) -> Vec<Key> {
        self.places
            .iter()
            .enumerate()
            .filter(|(_, p)| p.value.is_some())
            .map(|(i, p)| Key {
                index: i as u32,
                gen: p.gen,
            })
            .collect()
    }
}
