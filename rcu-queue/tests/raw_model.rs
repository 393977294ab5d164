//! Model-based tests of the intrusive layer: one arena of nodes, each embedding all four link types,
//! is put on four raw heads at once; random operations are applied to every family that has them and
//! each list is compared with a `VecDeque` of node indices after every step (`iter`, `iter_safe`,
//! `first`/`next`, `is_empty`, and `QTAILQ_IN_USE` for every node).
#![cfg(not(loom))]

use core::ptr::NonNull;
use proptest::prelude::*;
use rcu_queue::raw::{
    QListHead, QListLink, QSListHead, QSListLink, QSimpleqHead, QSimpleqLink, QTailqHead,
    QTailqLink,
};
use std::collections::VecDeque;

const NODES: usize = 24;

struct TestNode {
    id: usize,
    tq: QTailqLink,
    l: QListLink,
    sq: QSimpleqLink,
    sl: QSListLink,
}

rcu_queue::adapter!(Tq = TestNode { tq: QTailqLink });
rcu_queue::adapter!(Li = TestNode { l: QListLink });
rcu_queue::adapter!(Sq = TestNode { sq: QSimpleqLink });
rcu_queue::adapter!(Sl = TestNode { sl: QSListLink });

#[derive(Debug, Clone)]
enum Op {
    InsertHead(usize),
    InsertTail(usize),
    InsertAfter(usize, usize),
    InsertBefore(usize, usize),
    Remove(usize),
    RemoveHead,
    RemoveAfter(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<usize>().prop_map(Op::InsertHead),
        3 => any::<usize>().prop_map(Op::InsertTail),
        3 => (0usize..NODES, any::<usize>()).prop_map(|(p, n)| Op::InsertAfter(p, n)),
        3 => (0usize..NODES, any::<usize>()).prop_map(|(p, n)| Op::InsertBefore(p, n)),
        3 => (0usize..NODES).prop_map(Op::Remove),
        1 => Just(Op::RemoveHead),
        1 => (0usize..NODES).prop_map(Op::RemoveAfter),
    ]
}

/// One family under test: its head, its model, and the operations it has (`false` = unsupported).
/// Every method's safety argument is the same: this single thread is the only writer and reader, every
/// node lives in the arena for the whole test, and the model guarantees each node is linked at most
/// once and each position argument is on the list.
trait Harness {
    const NAME: &'static str;
    fn order(&self) -> Vec<usize>;
    fn order_safe(&self) -> Vec<usize>;
    fn order_first_next(&self) -> Vec<usize>;
    fn is_empty(&self) -> bool;
    fn insert_head(&self, n: NonNull<TestNode>);
    fn insert_tail(&self, n: NonNull<TestNode>) -> bool;
    fn insert_after(&self, at: NonNull<TestNode>, n: NonNull<TestNode>);
    fn insert_before(&self, at: NonNull<TestNode>, n: NonNull<TestNode>) -> bool;
    fn remove(&self, n: NonNull<TestNode>);
    /// `Some(removed)` if the family has remove_head.
    fn remove_head(&self) -> Option<Option<NonNull<TestNode>>>;
    fn remove_after(&self, at: NonNull<TestNode>) -> Option<Option<NonNull<TestNode>>>;
}

fn ids(it: impl Iterator<Item = NonNull<TestNode>>) -> Vec<usize> {
    // SAFETY: nodes live in the arena for the whole test.
    it.map(|p| unsafe { p.as_ref() }.id).collect()
}

macro_rules! harness_common {
    ($name:literal) => {
        const NAME: &'static str = $name;
        fn order(&self) -> Vec<usize> {
            // SAFETY: see `Harness`.
            ids(unsafe { self.iter() })
        }
        fn order_safe(&self) -> Vec<usize> {
            // SAFETY: see `Harness`.
            ids(unsafe { self.iter_safe() })
        }
        fn order_first_next(&self) -> Vec<usize> {
            // SAFETY: see `Harness`.
            let first = unsafe { self.first() };
            ids(std::iter::successors(first, |&p| {
                // SAFETY: see `Harness`.
                unsafe { Self::next(p) }
            }))
        }
        fn is_empty(&self) -> bool {
            self.is_empty()
        }
        fn insert_head(&self, n: NonNull<TestNode>) {
            // SAFETY: see `Harness`.
            unsafe { self.insert_head(n) }
        }
        fn insert_after(&self, at: NonNull<TestNode>, n: NonNull<TestNode>) {
            // SAFETY: see `Harness`.
            unsafe { self.insert_after(at, n) }
        }
        fn remove(&self, n: NonNull<TestNode>) {
            // SAFETY: see `Harness`.
            unsafe { self.remove(n) }
        }
    };
}

impl Harness for QTailqHead<Tq> {
    harness_common!("QTAILQ");
    fn insert_tail(&self, n: NonNull<TestNode>) -> bool {
        // SAFETY: see `Harness`.
        unsafe { self.insert_tail(n) };
        true
    }
    fn insert_before(&self, at: NonNull<TestNode>, n: NonNull<TestNode>) -> bool {
        // SAFETY: see `Harness`.
        unsafe { self.insert_before(at, n) };
        true
    }
    fn remove_head(&self) -> Option<Option<NonNull<TestNode>>> {
        None
    }
    fn remove_after(&self, _: NonNull<TestNode>) -> Option<Option<NonNull<TestNode>>> {
        None
    }
}

impl Harness for QListHead<Li> {
    harness_common!("QLIST");
    fn insert_tail(&self, _: NonNull<TestNode>) -> bool {
        false
    }
    fn insert_before(&self, at: NonNull<TestNode>, n: NonNull<TestNode>) -> bool {
        // SAFETY: see `Harness`.
        unsafe { self.insert_before(at, n) };
        true
    }
    fn remove_head(&self) -> Option<Option<NonNull<TestNode>>> {
        None
    }
    fn remove_after(&self, _: NonNull<TestNode>) -> Option<Option<NonNull<TestNode>>> {
        None
    }
}

impl Harness for QSimpleqHead<Sq> {
    harness_common!("QSIMPLEQ");
    fn insert_tail(&self, n: NonNull<TestNode>) -> bool {
        // SAFETY: see `Harness`.
        unsafe { self.insert_tail(n) };
        true
    }
    fn insert_before(&self, _: NonNull<TestNode>, _: NonNull<TestNode>) -> bool {
        false
    }
    fn remove_head(&self) -> Option<Option<NonNull<TestNode>>> {
        // SAFETY: see `Harness`.
        Some(unsafe { self.remove_head() })
    }
    fn remove_after(&self, at: NonNull<TestNode>) -> Option<Option<NonNull<TestNode>>> {
        // SAFETY: see `Harness`.
        Some(unsafe { self.remove_after(at) })
    }
}

impl Harness for QSListHead<Sl> {
    harness_common!("QSLIST");
    fn insert_tail(&self, _: NonNull<TestNode>) -> bool {
        false
    }
    fn insert_before(&self, _: NonNull<TestNode>, _: NonNull<TestNode>) -> bool {
        false
    }
    fn remove_head(&self) -> Option<Option<NonNull<TestNode>>> {
        // SAFETY: see `Harness`.
        Some(unsafe { self.remove_head() })
    }
    fn remove_after(&self, at: NonNull<TestNode>) -> Option<Option<NonNull<TestNode>>> {
        // SAFETY: see `Harness`.
        Some(unsafe { self.remove_after(at) })
    }
}

/// Applies `op` to `head` and `model`; `node(i)` maps an arena index to its pointer.
fn step<H: Harness>(
    head: &H,
    model: &mut VecDeque<usize>,
    op: &Op,
    node: &dyn Fn(usize) -> NonNull<TestNode>,
) {
    let free: Vec<usize> = (0..NODES).filter(|i| !model.contains(i)).collect();
    let pick = |k: usize| (!free.is_empty()).then(|| free[k % free.len()]);
    match *op {
        Op::InsertHead(k) => {
            if let Some(n) = pick(k) {
                head.insert_head(node(n));
                model.push_front(n);
            }
        }
        Op::InsertTail(k) => {
            if let Some(n) = pick(k) {
                if head.insert_tail(node(n)) {
                    model.push_back(n);
                }
            }
        }
        Op::InsertAfter(p, k) => {
            if let (Some(&at), Some(n)) = (model.get(p), pick(k)) {
                head.insert_after(node(at), node(n));
                model.insert(p + 1, n);
            }
        }
        Op::InsertBefore(p, k) => {
            if let (Some(&at), Some(n)) = (model.get(p), pick(k)) {
                if head.insert_before(node(at), node(n)) {
                    model.insert(p, n);
                }
            }
        }
        Op::Remove(p) => {
            if let Some(&n) = model.get(p) {
                head.remove(node(n));
                model.remove(p);
            }
        }
        Op::RemoveHead => {
            if let Some(removed) = head.remove_head() {
                assert_eq!(
                    removed,
                    model.pop_front().map(node),
                    "{} remove_head",
                    H::NAME
                );
            }
        }
        Op::RemoveAfter(p) => {
            if let Some(&at) = model.get(p) {
                if let Some(removed) = head.remove_after(node(at)) {
                    let expected = (p + 1 < model.len()).then(|| model.remove(p + 1).unwrap());
                    assert_eq!(removed, expected.map(node), "{} remove_after", H::NAME);
                }
            }
        }
    }
    let expected: Vec<usize> = model.iter().copied().collect();
    assert_eq!(head.order(), expected, "{} iter after {op:?}", H::NAME);
    assert_eq!(head.order_safe(), expected, "{} iter_safe", H::NAME);
    assert_eq!(head.order_first_next(), expected, "{} first/next", H::NAME);
    assert_eq!(head.is_empty(), expected.is_empty(), "{} is_empty", H::NAME);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn raw_lists_match_vecdeque(ops in proptest::collection::vec(op(), 0..80)) {
        let mut arena: Vec<TestNode> = (0..NODES)
            .map(|id| TestNode { id, tq: QTailqLink::new(), l: QListLink::new(), sq: QSimpleqLink::new(), sl: QSListLink::new() })
            .collect();
        let base = NonNull::new(arena.as_mut_ptr()).unwrap();
        // SAFETY: indices are below NODES, inside the arena, which is not touched otherwise until the end.
        let node = move |i: usize| unsafe { base.add(i) };
        let (tq, li, sq, sl) = (QTailqHead::<Tq>::new(), QListHead::<Li>::new(), QSimpleqHead::<Sq>::new(), QSListHead::<Sl>::new());
        let mut models: [VecDeque<usize>; 4] = Default::default();
        for op in &ops {
            step(&tq, &mut models[0], op, &node);
            step(&li, &mut models[1], op, &node);
            step(&sq, &mut models[2], op, &node);
            step(&sl, &mut models[3], op, &node);
            for i in 0..NODES {
                // SAFETY: arena node, no concurrent access.
                let linked = unsafe { node(i).as_ref() }.tq.in_use();
                prop_assert_eq!(linked, models[0].contains(&i), "QTAILQ_IN_USE of node {}", i);
            }
        }
        drop(arena);
    }
}

#[test]
fn removed_element_keeps_next_for_readers() {
    let mut arena: Vec<TestNode> = (0..3)
        .map(|id| TestNode {
            id,
            tq: QTailqLink::new(),
            l: QListLink::new(),
            sq: QSimpleqLink::new(),
            sl: QSListLink::new(),
        })
        .collect();
    let base = NonNull::new(arena.as_mut_ptr()).unwrap();
    // SAFETY: indices 0..3 are inside the arena.
    let [a, b, c]: [NonNull<TestNode>; 3] = std::array::from_fn(|i| unsafe { base.add(i) });
    let tq = QTailqHead::<Tq>::new();
    let sl = QSListHead::<Sl>::new();
    // SAFETY: single thread; arena nodes outlive the heads' use; each linked once per list.
    unsafe {
        for n in [c, b, a] {
            tq.insert_head(n);
            sl.insert_head(n);
        }
        tq.remove(b);
        sl.remove(b);
        // A reader standing on `b` goes on to `c`; b's back link is cleared (QTAILQ_IN_USE false).
        assert_eq!(QTailqHead::<Tq>::next(b), Some(c));
        assert_eq!(QSListHead::<Sl>::next(b), Some(c));
        assert!(!b.as_ref().tq.in_use());
        assert_eq!(ids(tq.iter()), [0, 2]);
        assert_eq!(ids(sl.iter()), [0, 2]);
    }
    drop(arena);
}
