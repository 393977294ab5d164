//! Model-based tests of the safe lists: random operation sequences on each family, checked against a
//! `VecDeque` after every step (writer view, reader view under a guard, first, len, is_empty),
//! including handles kept across writer sessions (O(1) cursors, removal, insert after/before, stale
//! handles after removal and after the list is dropped), and at the end every value ever created is
//! dropped exactly once after the grace periods and the last handle.
#![cfg(not(loom))]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use rcu_queue::{Handle, ListWriter, RcuQueue, WriterLock};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[derive(Debug)]
struct Tracked {
    /// Unique per value: handles are checked against it.
    id: usize,
    v: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
    }
}

#[derive(Debug, Clone)]
enum Op {
    PushFront(u32),
    PushBack(u32),
    InsertAfter(usize, u32),
    InsertBefore(usize, u32),
    Remove(usize),
    RemoveValue(u32),
    RetainMultiplesOf(u32),
    Clear,
    /// Removes the element after position `n` through a cursor walk (`find` + `move_next`).
    RemoveNextOf(usize),
    /// Keeps a handle to the element at position `n` (through `find`).
    KeepHandle(usize),
    /// Through the `k`-th kept handle (if any): remove / insert after / insert before / read.
    HandleRemove(usize),
    HandleInsertAfter(usize, u32),
    HandleInsertBefore(usize, u32),
    HandleRead(usize),
    /// Drops the `k`-th kept handle.
    DropHandle(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u32>().prop_map(|v| Op::PushFront(v % 16)),
        4 => any::<u32>().prop_map(|v| Op::PushBack(v % 16)),
        3 => (0usize..12, any::<u32>()).prop_map(|(i, v)| Op::InsertAfter(i, v % 16)),
        3 => (0usize..12, any::<u32>()).prop_map(|(i, v)| Op::InsertBefore(i, v % 16)),
        3 => (0usize..12).prop_map(Op::Remove),
        2 => (0u32..16).prop_map(Op::RemoveValue),
        1 => (2u32..5).prop_map(Op::RetainMultiplesOf),
        1 => Just(Op::Clear),
        2 => (0usize..12).prop_map(Op::RemoveNextOf),
        3 => (0usize..12).prop_map(Op::KeepHandle),
        3 => (0usize..8).prop_map(Op::HandleRemove),
        2 => (0usize..8, any::<u32>()).prop_map(|(k, v)| Op::HandleInsertAfter(k, v % 16)),
        2 => (0usize..8, any::<u32>()).prop_map(|(k, v)| Op::HandleInsertBefore(k, v % 16)),
        1 => (0usize..8).prop_map(Op::HandleRead),
        1 => (0usize..8).prop_map(Op::DropHandle),
    ]
}

/// A predicate true exactly at position `n` (0-based) of a walk.
fn nth(n: usize) -> impl FnMut(&Tracked) -> bool {
    let mut i = 0;
    move |_| {
        i += 1;
        i - 1 == n
    }
}

/// The model: `(id, value)` per element, front to back.
type Model = VecDeque<(usize, u32)>;

fn check<F: Family>(list: &RcuQueue<Tracked, F>, w: &ListWriter<'_, Tracked, F>, model: &Model) {
    let expected: Vec<(usize, u32)> = model.iter().copied().collect();
    let writer_view: Vec<(usize, u32)> = w.iter().map(|t| (t.id, t.v)).collect();
    assert_eq!(writer_view, expected, "{} writer view", F::NAME);
    let guard = rcu_core::read_lock();
    let reader_view: Vec<(usize, u32)> = list.iter(&guard).map(|t| (t.id, t.v)).collect();
    assert_eq!(reader_view, expected, "{} reader view", F::NAME);
    assert_eq!(list.first(&guard).map(|t| t.id), model.front().map(|e| e.0));
    assert_eq!(w.len(), model.len());
    assert_eq!(w.is_empty(), model.is_empty());
    assert_eq!(list.is_empty(), model.is_empty());
}

/// Everything one test case carries between writer sessions.
struct State<F: Family> {
    model: Model,
    handles: Vec<Handle<Tracked, F>>,
    drops: Arc<AtomicUsize>,
    created: usize,
}

impl<F: Family> State<F> {
    fn new_value(&mut self, v: u32) -> (Tracked, (usize, u32)) {
        self.created += 1;
        let id = self.created;
        let t = Tracked {
            id,
            v,
            drops: self.drops.clone(),
        };
        (t, (id, v))
    }

    fn pos(&self, id: usize) -> Option<usize> {
        self.model.iter().position(|e| e.0 == id)
    }

    fn handle(&self, k: usize) -> Option<&Handle<Tracked, F>> {
        (!self.handles.is_empty()).then(|| &self.handles[k % self.handles.len()])
    }
}

fn apply<F: Family>(w: &mut ListWriter<'_, Tracked, F>, st: &mut State<F>, op: &Op) {
    match *op {
        Op::PushFront(v) => {
            let (t, e) = st.new_value(v);
            assert_eq!(w.push_front(t).get().id, e.0);
            st.model.push_front(e);
        }
        Op::PushBack(v) => {
            let (t, e) = st.new_value(v);
            assert_eq!(w.push_back(t).get().id, e.0);
            st.model.push_back(e);
        }
        Op::InsertAfter(i, v) => {
            let (t, e) = st.new_value(v);
            match w.insert_after(nth(i), t) {
                Ok(c) => {
                    assert_eq!(c.get().id, e.0);
                    st.model.insert(i + 1, e);
                }
                Err(t) => assert!(i >= st.model.len() && t.id == e.0),
            }
        }
        Op::InsertBefore(i, v) => {
            let (t, e) = st.new_value(v);
            match w.insert_before(nth(i), t) {
                Ok(c) => {
                    assert_eq!(c.get().id, e.0);
                    st.model.insert(i, e);
                }
                Err(t) => assert!(i >= st.model.len() && t.id == e.0),
            }
        }
        Op::Remove(i) => {
            let removed = w.remove_first(nth(i)).map(|h| h.id);
            assert_eq!(removed, st.model.remove(i).map(|e| e.0));
        }
        Op::RemoveValue(v) => {
            let pos = st.model.iter().position(|e| e.1 == v);
            let removed = w.remove_first(|t| t.v == v).map(|h| h.id);
            assert_eq!(removed, pos.map(|p| st.model.remove(p).unwrap().0));
        }
        Op::RetainMultiplesOf(m) => {
            w.retain(|t| t.v % m == 0);
            st.model.retain(|e| e.1 % m == 0);
        }
        Op::Clear => {
            w.clear();
            st.model.clear();
        }
        Op::RemoveNextOf(i) => {
            let removed = w
                .find(nth(i))
                .and_then(|c| c.move_next())
                .map(|c| c.remove().id);
            let expected = (i + 1 < st.model.len()).then(|| st.model.remove(i + 1).unwrap().0);
            assert_eq!(removed, expected);
        }
        Op::KeepHandle(i) => {
            let h = w.find(nth(i)).map(|c| c.handle());
            assert_eq!(h.as_ref().map(|h| h.id), st.model.get(i).map(|e| e.0));
            st.handles.extend(h);
        }
        Op::HandleRemove(k) => {
            let Some(h) = st.handle(k) else { return };
            let pos = st.pos(h.id);
            let removed = w.cursor(h).map(|c| c.remove());
            assert_eq!(removed.is_some(), pos.is_some(), "{} stale handle", F::NAME);
            if let (Some(r), Some(p)) = (removed, pos) {
                assert_eq!(r.id, h.id);
                st.model.remove(p);
            }
        }
        Op::HandleInsertAfter(k, v) | Op::HandleInsertBefore(k, v) => {
            let Some(h) = st.handle(k) else { return };
            let (id, pos) = (h.id, st.pos(h.id));
            let after = matches!(op, Op::HandleInsertAfter(..));
            let (t, e) = st.new_value(v);
            let Some(h) = st.handle(k) else { return };
            match (w.cursor(h), pos) {
                (Some(c), Some(p)) => {
                    assert_eq!(c.get().id, id);
                    let c = if after {
                        c.insert_after(t)
                    } else {
                        c.insert_before(t)
                    };
                    assert_eq!(c.get().id, e.0);
                    st.model.insert(if after { p + 1 } else { p }, e);
                }
                (None, None) => drop(t),
                (c, p) => panic!("{}: cursor {} but model {p:?}", F::NAME, c.is_some()),
            }
        }
        Op::HandleRead(k) => {
            if let Some(h) = st.handle(k) {
                // Readable whether or not the element is still linked.
                assert!(h.v < 16 && h.id <= st.created);
            }
        }
        Op::DropHandle(k) => {
            if !st.handles.is_empty() {
                let n = st.handles.len();
                st.handles.swap_remove(k % n);
            }
        }
    }
}

fn model_test<F: Family>(external_lock: bool) {
    let drops = Arc::new(AtomicUsize::new(0));
    let created = std::cell::Cell::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 0..60), |ops| {
            let bql = WriterLock::new(());
            let list: RcuQueue<Tracked, F> = if external_lock {
                RcuQueue::with_external_lock(&bql)
            } else {
                RcuQueue::new()
            };
            let mut st = State {
                model: VecDeque::new(),
                handles: Vec::new(),
                drops: drops.clone(),
                created: 0,
            };
            for op in &ops {
                let mut guard = bql.lock();
                let mut w = if external_lock {
                    list.writer(&mut guard)
                } else {
                    list.lock()
                };
                apply(&mut w, &mut st, op);
                check(&list, &w, &st.model);
            }
            // Handles outlive the list: they still read their values, and find nothing to write.
            drop(list);
            let other: RcuQueue<Tracked, F> = RcuQueue::new();
            for h in &st.handles {
                assert!(h.id <= st.created);
                assert!(other.lock().cursor(h).is_none());
            }
            created.set(created.get() + st.created);
            Ok(())
        })
        .unwrap();
    rcu_core::rcu_barrier();
    assert_eq!(
        drops.load(Relaxed),
        created.get(),
        "{}: every value must be dropped exactly once",
        F::NAME
    );
}

#[test]
fn qtailq_matches_vecdeque() {
    model_test::<Tailq>(false);
}

#[test]
fn qlist_matches_vecdeque() {
    model_test::<List>(true);
}

#[test]
fn qsimpleq_matches_vecdeque() {
    model_test::<Simpleq>(false);
}

#[test]
fn qslist_matches_vecdeque() {
    model_test::<Slist>(true);
}

#[test]
fn external_lock_serializes_many_lists() {
    model_test::<Tailq>(true);
    model_test::<Simpleq>(true);
}

#[test]
#[should_panic(expected = "with_external_lock")]
fn lock_on_externally_locked_list_panics() {
    let bql = WriterLock::new(());
    let list = rcu_queue::RcuTailq::<u8>::with_external_lock(&bql);
    let _ = list.lock();
}

#[test]
#[should_panic(expected = "different WriterLock")]
fn writer_with_wrong_guard_panics() {
    let (a, b) = (WriterLock::new(()), WriterLock::new(()));
    let list = rcu_queue::RcuList::<u8>::with_external_lock(&a);
    let _ = list.writer(&mut b.lock());
}

#[test]
#[should_panic(expected = "use list.lock() instead")]
fn writer_on_self_locked_list_panics() {
    let other = WriterLock::new(());
    let list = rcu_queue::RcuSlist::<u8>::new();
    let _ = list.writer(&mut other.lock());
}

#[test]
#[should_panic(expected = "already holds the lock")]
fn reentrant_writer_panics_instead_of_deadlocking() {
    let list = rcu_queue::RcuTailq::new();
    list.lock().push_back(1);
    list.lock().retain(|_| {
        list.lock().push_back(2);
        true
    });
}

static_assertions::assert_impl_all!(rcu_queue::RcuTailq<String>: Send, Sync);
static_assertions::assert_impl_all!(rcu_queue::RcuSlist<Arc<u8>>: Send, Sync);
static_assertions::assert_not_impl_any!(rcu_queue::Iter<'static, u8>: Send, Sync);
static_assertions::assert_not_impl_any!(ListWriter<'static, u8>: Send);
