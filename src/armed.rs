//! Armed items that requests consume: the list behind Graph faults and webhook delivery
//! faults. Ids are given in arming order; an item with a count is removed once it is spent.
//! While nothing is armed, [`Armed::take`] is one atomic load, so the request path pays
//! nothing for the feature.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Something armed: its id and how many more times it applies (`None`: until removed).
pub trait ArmedItem: Clone {
    /// The id given at arming.
    fn id(&self) -> u64;
    /// Uses left; `None` means unlimited.
    fn remaining_mut(&mut self) -> &mut Option<u32>;
}

/// The armed items, in arming order.
#[derive(Debug)]
pub struct Armed<T> {
    /// How many are armed, read without the lock.
    count: AtomicUsize,
    /// The last id given, and the items.
    inner: Mutex<(u64, Vec<T>)>,
}

impl<T> Default for Armed<T> {
    fn default() -> Self {
        Self {
            count: AtomicUsize::new(0),
            inner: Mutex::new((0, Vec::new())),
        }
    }
}

impl<T: ArmedItem> Armed<T> {
    /// Arms the item `make` builds from its new id, and returns it.
    pub fn arm(&self, make: impl FnOnce(u64) -> T) -> T {
        let mut inner = self.inner.lock();
        inner.0 += 1;
        let item = make(inner.0);
        inner.1.push(item.clone());
        self.count.store(inner.1.len(), Ordering::Release);
        item
    }

    /// Copies of the armed items.
    pub fn list(&self) -> Vec<T> {
        self.inner.lock().1.clone()
    }

    /// Removes one item; false if unknown.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.inner.lock();
        let before = inner.1.len();
        inner.1.retain(|item| item.id() != id);
        self.count.store(inner.1.len(), Ordering::Release);
        inner.1.len() != before
    }

    /// Removes every item.
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.1.clear();
        self.count.store(0, Ordering::Release);
    }

    /// The first item `decide` accepts (it may change the item, e.g. draw a random number),
    /// with one use spent, as `use_it` sees it; `None` when nothing is armed or none accepts.
    pub fn take<R>(
        &self,
        mut decide: impl FnMut(&mut T) -> bool,
        use_it: impl FnOnce(&T) -> R,
    ) -> Option<R> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut inner = self.inner.lock();
        let index = inner.1.iter_mut().position(&mut decide)?;
        let item = &mut inner.1[index];
        let used = use_it(item);
        if let Some(remaining) = item.remaining_mut().as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                inner.1.remove(index);
                self.count.store(inner.1.len(), Ordering::Release);
            }
        }
        Some(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Item {
        id: u64,
        remaining: Option<u32>,
        tag: &'static str,
    }

    impl ArmedItem for Item {
        fn id(&self) -> u64 {
            self.id
        }
        fn remaining_mut(&mut self) -> &mut Option<u32> {
            &mut self.remaining
        }
    }

    #[test]
    fn items_are_taken_in_order_and_spent_ones_leave() {
        let armed = Armed::<Item>::default();
        assert_eq!(armed.take(|_| true, |item| item.tag), None);
        let first = armed.arm(|id| Item {
            id,
            remaining: Some(1),
            tag: "a",
        });
        armed.arm(|id| Item {
            id,
            remaining: None,
            tag: "b",
        });
        assert_eq!(first.id, 1);
        assert_eq!(armed.take(|_| true, |item| item.tag), Some("a"));
        assert_eq!(armed.take(|_| true, |item| item.tag), Some("b"));
        assert_eq!(armed.take(|_| true, |item| item.tag), Some("b"));
        assert_eq!(armed.take(|item| item.tag == "z", |item| item.tag), None);
        assert!(armed.remove(2));
        assert!(!armed.remove(2));
        assert!(armed.list().is_empty());
        armed.arm(|id| Item {
            id,
            remaining: None,
            tag: "c",
        });
        armed.clear();
        assert_eq!(armed.take(|_| true, |item| item.tag), None);
    }
}
