//! Key-value storage behind a trait, so the engine runs on chain (`env::storage_*`) and natively
//! (a `BTreeMap`) alike. [`Overlay`] buffers writes on top of any storage: a batch commits only
//! when every item passed, a simulated item rolls back when it fails, and the byte count of what a
//! batch adds is known before anything is written (NEAR charges `key + value + 40` bytes a record).

use std::cell::RefCell;
use std::collections::BTreeMap;

/// Bytes NEAR counts for a record besides its key and value (`storage_num_extra_bytes_record`).
pub const RECORD_OVERHEAD_BYTES: u64 = 40;

/// Raw contract storage.
pub trait Storage {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>>;
    fn write(&mut self, key: &[u8], value: &[u8]);
    fn remove(&mut self, key: &[u8]);
    /// Writes a record that must not exist yet; `false` when it did. Then the storage may hold the
    /// new value: the caller must undo it or abort (the contract panics, which reverts the receipt).
    fn write_new(&mut self, key: &[u8], value: &[u8]) -> bool {
        if self.read(key).is_some() {
            return false;
        }
        self.write(key, value);
        true
    }
    /// True when a write tells whether it replaced a record (NEAR's `storage_write` does), so an
    /// executing batch may skip reading records it only creates and check them at commit.
    fn checks_new_on_write(&self) -> bool {
        false
    }
}

/// Native storage for tests and simulations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStorage(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl Storage for MemoryStorage {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn write(&mut self, key: &[u8], value: &[u8]) {
        self.0.insert(key.to_vec(), value.to_vec());
    }
    fn remove(&mut self, key: &[u8]) {
        self.0.remove(key);
    }
}

impl MemoryStorage {
    /// Bytes NEAR would count for these records.
    pub fn usage(&self) -> u64 {
        self.0.iter().map(|(k, v)| record_bytes(k, v)).sum()
    }
}

fn record_bytes(key: &[u8], value: &[u8]) -> u64 {
    key.len() as u64 + value.len() as u64 + RECORD_OVERHEAD_BYTES
}

/// Buffered writes over a base storage (read only through it), with checkpoints.
pub struct Overlay<'a, S: Storage> {
    base: &'a S,
    /// `Some(value)` written, `None` removed.
    changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Previous state of each change, for rollback: (key, the change it replaced or absent).
    undo: Vec<(Vec<u8>, Option<Option<Vec<u8>>>)>,
    /// Net bytes the changes add to the base (negative: they free storage).
    bytes_delta: i64,
    /// Base values already read: each key costs one storage read per batch, however often the
    /// engine and the byte accounting look at it (a read is ~0.06 TGas on chain).
    read_cache: RefCell<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    /// Records assumed absent from the base without reading it (see `write_new`).
    /// (A map of the same type as `changes`, values unused: one more map type would add about
    /// 10 KB of wasm.)
    assumed_new: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    defer_new_checks: bool,
}

/// A point to roll back to.
#[derive(Clone, Copy, Debug)]
pub struct Checkpoint {
    undo_len: usize,
    bytes_delta: i64,
}

impl Checkpoint {
    /// The overlay's byte count when the checkpoint was taken.
    pub fn bytes_delta(&self) -> i64 {
        self.bytes_delta
    }
}

impl<'a, S: Storage> Overlay<'a, S> {
    pub fn new(base: &'a S) -> Self {
        Overlay {
            base,
            changes: BTreeMap::new(),
            undo: Vec::new(),
            bytes_delta: 0,
            read_cache: RefCell::default(),
            assumed_new: BTreeMap::new(),
            defer_new_checks: false,
        }
    }

    /// From now on [`Overlay::write_new`] checks at commit, when the base can (an executing
    /// batch; a simulation always reads).
    pub fn defer_new_checks(&mut self) {
        self.defer_new_checks = self.base.checks_new_on_write();
    }

    /// Net storage bytes the buffered changes add.
    pub fn bytes_delta(&self) -> i64 {
        self.bytes_delta
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint { undo_len: self.undo.len(), bytes_delta: self.bytes_delta }
    }

    /// Undoes every change made after `cp`.
    pub fn rollback(&mut self, cp: Checkpoint) {
        while self.undo.len() > cp.undo_len {
            let (key, previous) = self.undo.pop().expect("undo entry");
            match previous {
                Some(change) => self.changes.insert(key, change),
                None => self.changes.remove(&key),
            };
        }
        self.bytes_delta = cp.bytes_delta;
    }

    /// Ends the overlay, keeping its changes to apply to the base.
    pub fn into_changes(self) -> Changes {
        // A record assumed new and then rolled back (its item failed) is no longer written.
        let changes = self.changes;
        let assumed_new = self.assumed_new.into_iter().filter(|(k, _)| matches!(changes.get(k), Some(Some(_)))).collect();
        Changes { changes, assumed_new }
    }

    fn set(&mut self, key: &[u8], change: Option<Vec<u8>>) {
        let before = self.read(key).map(|v| record_bytes(key, &v) as i64).unwrap_or(0);
        self.set_from(key, change, before);
    }

    /// Records a change to `key`, whose current record takes `before` bytes.
    fn set_from(&mut self, key: &[u8], change: Option<Vec<u8>>, before: i64) {
        let after = change.as_ref().map(|v| record_bytes(key, v) as i64).unwrap_or(0);
        self.bytes_delta += after - before;
        let previous = self.changes.insert(key.to_vec(), change);
        self.undo.push((key.to_vec(), previous));
    }
}

impl<S: Storage> Storage for Overlay<'_, S> {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        if let Some(change) = self.changes.get(key) {
            return change.clone();
        }
        if let Some(cached) = self.read_cache.borrow().get(key) {
            return cached.clone();
        }
        let value = self.base.read(key);
        self.read_cache.borrow_mut().insert(key.to_vec(), value.clone());
        value
    }
    fn write(&mut self, key: &[u8], value: &[u8]) {
        self.set(key, Some(value.to_vec()));
    }
    fn remove(&mut self, key: &[u8]) {
        self.set(key, None);
    }
    /// Creates a record that must not exist (a spent nonce): `false` when it does. With deferred
    /// checks and nothing known of the key, the base is not read (a storage read is 0.06 TGas,
    /// about a tenth of an intent); [`Changes::try_apply_to`] then writes it with `write_new`, and the
    /// commit fails if it existed after all (another batch spent it since the simulation).
    fn write_new(&mut self, key: &[u8], value: &[u8]) -> bool {
        let unknown = !self.changes.contains_key(key) && !self.read_cache.borrow().contains_key(key);
        if self.defer_new_checks && unknown {
            self.assumed_new.insert(key.to_vec(), None);
            self.set_from(key, Some(value.to_vec()), 0);
            return true;
        }
        if self.read(key).is_some() {
            return false;
        }
        self.write(key, value);
        true
    }
}

/// Writes an [`Overlay`] buffered.
#[derive(Debug, Default)]
pub struct Changes {
    changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Keys written without reading the base, which must not exist there (values unused).
    assumed_new: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Changes {
    /// Writes changes made without deferred checks (nothing assumed new, so this cannot fail).
    pub fn apply_to(self, base: &mut impl Storage) {
        assert!(self.assumed_new.is_empty(), "deferred checks need try_apply_to");
        let _ = self.try_apply_to(base);
    }

    /// Writes everything, or nothing when a record assumed new exists after all: then returns its
    /// key. Those records go first, so undoing is removing the ones already created (on chain the
    /// caller's panic reverts them anyway).
    pub fn try_apply_to(self, base: &mut impl Storage) -> Result<(), Vec<u8>> {
        for key in self.assumed_new.keys() {
            let Some(Some(value)) = self.changes.get(key) else { continue };
            if !base.write_new(key, value) {
                for created in self.assumed_new.keys().take_while(|k| *k != key) {
                    base.remove(created);
                }
                return Err(key.clone());
            }
        }
        for (key, change) in &self.changes {
            if self.assumed_new.contains_key(key) {
                continue;
            }
            match change {
                Some(value) => base.write(key, value),
                None => base.remove(key),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_buffers_counts_and_rolls_back() {
        let mut base = MemoryStorage::default();
        base.write(b"a", b"1");
        let mut o = Overlay::new(&base);
        o.write(b"b", b"22");
        assert_eq!(o.bytes_delta(), 1 + 2 + 40);
        let cp = o.checkpoint();
        o.write(b"a", b"333");
        o.remove(b"b");
        assert_eq!(o.read(b"b"), None);
        assert_eq!(o.bytes_delta(), 2);
        o.rollback(cp);
        assert_eq!(o.read(b"a"), Some(b"1".to_vec()));
        assert_eq!(o.read(b"b"), Some(b"22".to_vec()));
        assert_eq!(o.bytes_delta(), 43);
        let changes = o.into_changes();
        changes.apply_to(&mut base);
        assert_eq!(base.0.len(), 2);
        assert_eq!(base.usage(), 42 + 43);
    }

    /// Counts base reads.
    struct Counting(MemoryStorage, std::cell::Cell<u32>);
    impl Storage for Counting {
        fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
            self.1.set(self.1.get() + 1);
            self.0.read(key)
        }
        fn write(&mut self, key: &[u8], value: &[u8]) {
            self.0.write(key, value)
        }
        fn remove(&mut self, key: &[u8]) {
            self.0.remove(key)
        }
    }

    #[test]
    fn each_base_key_is_read_once() {
        let mut base = MemoryStorage::default();
        base.write(b"a", b"1");
        let counting = Counting(base, Default::default());
        let mut o = Overlay::new(&counting);
        assert_eq!(o.read(b"a"), Some(b"1".to_vec()));
        o.write(b"a", b"2");
        o.read(b"a");
        o.read(b"missing");
        o.write(b"missing", b"x");
        assert_eq!(counting.1.get(), 2);
    }

    #[test]
    fn dropped_overlay_changes_nothing() {
        let base = MemoryStorage::default();
        {
            let mut o = Overlay::new(&base);
            o.write(b"x", b"y");
        }
        assert!(base.0.is_empty());
    }
}
