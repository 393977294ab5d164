//! Model-based tests of the safe lists: random operation sequences on each family, checked against a
//! `VecDeque` after every step (writer view, reader view under a guard, first, len, is_empty), and at
//! the end every value ever created is dropped exactly once after the grace periods.
#![cfg(not(loom))]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use rcu_queue::{ListWriter, RcuQueue, WriterLock};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[derive(Debug)]
struct Tracked {
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
    ]
}

/// Family-specific operations, `None` where the family lacks them.
trait Caps: Family + Sized {
    fn push_back(w: &mut ListWriter<'_, Tracked, Self>, t: Tracked) -> Option<()>;
    fn insert_before(
        w: &mut ListWriter<'_, Tracked, Self>,
        p: impl FnMut(&Tracked) -> bool,
        t: Tracked,
    ) -> Option<Result<(), Tracked>>;
}

impl Caps for Tailq {
    fn push_back(w: &mut ListWriter<'_, Tracked, Self>, t: Tracked) -> Option<()> {
        w.push_back(t);
        Some(())
    }
    fn insert_before(
        w: &mut ListWriter<'_, Tracked, Self>,
        p: impl FnMut(&Tracked) -> bool,
        t: Tracked,
    ) -> Option<Result<(), Tracked>> {
        Some(w.insert_before(p, t))
    }
}
impl Caps for List {
    fn push_back(_: &mut ListWriter<'_, Tracked, Self>, _: Tracked) -> Option<()> {
        None
    }
    fn insert_before(
        w: &mut ListWriter<'_, Tracked, Self>,
        p: impl FnMut(&Tracked) -> bool,
        t: Tracked,
    ) -> Option<Result<(), Tracked>> {
        Some(w.insert_before(p, t))
    }
}
impl Caps for Simpleq {
    fn push_back(w: &mut ListWriter<'_, Tracked, Self>, t: Tracked) -> Option<()> {
        w.push_back(t);
        Some(())
    }
    fn insert_before(
        _: &mut ListWriter<'_, Tracked, Self>,
        _: impl FnMut(&Tracked) -> bool,
        _: Tracked,
    ) -> Option<Result<(), Tracked>> {
        None
    }
}
impl Caps for Slist {
    fn push_back(_: &mut ListWriter<'_, Tracked, Self>, _: Tracked) -> Option<()> {
        None
    }
    fn insert_before(
        _: &mut ListWriter<'_, Tracked, Self>,
        _: impl FnMut(&Tracked) -> bool,
        _: Tracked,
    ) -> Option<Result<(), Tracked>> {
        None
    }
}

/// A predicate true exactly at position `n` (0-based) of a walk.
fn nth(n: usize) -> impl FnMut(&Tracked) -> bool {
    let mut i = 0;
    move |_| {
        i += 1;
        i - 1 == n
    }
}

fn check<F: Family>(
    list: &RcuQueue<Tracked, F>,
    w: &ListWriter<'_, Tracked, F>,
    model: &VecDeque<u32>,
) {
    let expected: Vec<u32> = model.iter().copied().collect();
    let writer_view: Vec<u32> = w.iter().map(|t| t.v).collect();
    assert_eq!(writer_view, expected, "{} writer view", F::NAME);
    let guard = rcu_core::read_lock();
    let reader_view: Vec<u32> = list.iter(&guard).map(|t| t.v).collect();
    assert_eq!(reader_view, expected, "{} reader view", F::NAME);
    assert_eq!(list.first(&guard).map(|t| t.v), model.front().copied());
    assert_eq!(w.len(), model.len());
    assert_eq!(w.is_empty(), model.is_empty());
    assert_eq!(list.is_empty(), model.is_empty());
}

fn apply<F: Caps>(
    w: &mut ListWriter<'_, Tracked, F>,
    model: &mut VecDeque<u32>,
    op: &Op,
    drops: &Arc<AtomicUsize>,
    created: &std::cell::Cell<usize>,
) {
    let new = |v| {
        created.set(created.get() + 1);
        Tracked {
            v,
            drops: drops.clone(),
        }
    };
    match *op {
        Op::PushFront(v) => {
            w.push_front(new(v));
            model.push_front(v);
        }
        Op::PushBack(v) => {
            if F::push_back(w, new(v)).is_some() {
                model.push_back(v);
            }
        }
        Op::InsertAfter(i, v) => match w.insert_after(nth(i), new(v)) {
            Ok(()) => model.insert(i + 1, v),
            Err(t) => assert!(i >= model.len() && t.v == v),
        },
        Op::InsertBefore(i, v) => match F::insert_before(w, nth(i), new(v)) {
            Some(Ok(())) => model.insert(i, v),
            Some(Err(t)) => assert!(i >= model.len() && t.v == v),
            None => {}
        },
        Op::Remove(i) => {
            assert_eq!(w.remove_first(nth(i)), i < model.len());
            if i < model.len() {
                model.remove(i);
            }
        }
        Op::RemoveValue(v) => {
            let pos = model.iter().position(|&x| x == v);
            assert_eq!(w.remove_first(|t| t.v == v), pos.is_some());
            if let Some(pos) = pos {
                model.remove(pos);
            }
        }
        Op::RetainMultiplesOf(m) => {
            w.retain(|t| t.v % m == 0);
            model.retain(|&x| x % m == 0);
        }
        Op::Clear => {
            w.clear();
            model.clear();
        }
    }
}

fn model_test<F: Caps>(external_lock: bool) {
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
            let mut model = VecDeque::new();
            for op in &ops {
                let mut guard = bql.lock();
                let mut w = if external_lock {
                    list.writer(&mut guard)
                } else {
                    list.lock()
                };
                apply(&mut w, &mut model, op, &drops, &created);
                check(&list, &w, &model);
            }
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
