//! Model-based tests of the intrusive layer: one arena of nodes, each embedding all four link types,
//! is put on four raw heads at once; random operations are applied to every family (each has every
//! operation of `raw::Head`, some as walks) and each list is compared with a `VecDeque` of node indices after every step (`iter`, `iter_safe`,
//! `first`/`next`, `is_empty`, and `QTAILQ_IN_USE` for every node).
#![cfg(not(loom))]

use core::ptr::NonNull;
use proptest::prelude::*;
use rcu_queue::raw::{
    Head, QListHead, QListLink, QSListHead, QSListLink, QSimpleqHead, QSimpleqLink, QTailqHead,
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
    Unlink(usize),
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
        2 => (0usize..NODES).prop_map(Op::Unlink),
    ]
}

fn ids(it: impl Iterator<Item = NonNull<TestNode>>) -> Vec<usize> {
    // SAFETY: nodes live in the arena for the whole test.
    it.map(|p| unsafe { p.as_ref() }.id).collect()
}

/// Applies `op` to `head` and `model`; `node(i)` maps an arena index to its pointer. Every family has
/// every operation ([`Head`]), so one generic function drives all four.
///
/// Every `unsafe` call has the same argument: this single thread is the only writer and reader, every
/// node lives in the arena for the whole test, and the model guarantees each node is linked at most
/// once and each position argument is on the list.
fn step<H: Head<Object = TestNode>>(
    head: &H,
    model: &mut VecDeque<usize>,
    op: &Op,
    node: &dyn Fn(usize) -> NonNull<TestNode>,
) {
    let free: Vec<usize> = (0..NODES).filter(|i| !model.contains(i)).collect();
    let pick = |k: usize| (!free.is_empty()).then(|| free[k % free.len()]);
    // SAFETY: see above.
    unsafe {
        match *op {
            Op::InsertHead(k) => {
                if let Some(n) = pick(k) {
                    head.insert_head(node(n));
                    model.push_front(n);
                }
            }
            Op::InsertTail(k) => {
                if let Some(n) = pick(k) {
                    head.insert_tail(node(n));
                    model.push_back(n);
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
                    head.insert_before(node(at), node(n));
                    model.insert(p, n);
                }
            }
            Op::Remove(p) => {
                if let Some(&n) = model.get(p) {
                    head.remove(node(n));
                    model.remove(p);
                }
            }
            Op::RemoveHead => {
                let expected = model.pop_front().map(node);
                assert_eq!(head.remove_head(), expected, "{} remove_head", H::FAMILY);
            }
            Op::RemoveAfter(p) => {
                if let Some(&at) = model.get(p) {
                    let expected = (p + 1 < model.len()).then(|| model.remove(p + 1).unwrap());
                    let removed = head.remove_after(node(at));
                    assert_eq!(removed, expected.map(node), "{} remove_after", H::FAMILY);
                }
            }
            Op::Unlink(p) => {
                if let Some(&n) = model.get(p) {
                    let prev = p.checked_sub(1).map(|q| node(model[q]));
                    head.unlink(prev, node(n));
                    model.remove(p);
                }
            }
        }
    }
    let expected: Vec<usize> = model.iter().copied().collect();
    // SAFETY: see above.
    let (order, order_safe, first) =
        unsafe { (ids(head.iter()), ids(head.iter_safe()), head.first()) };
    assert_eq!(order, expected, "{} iter after {op:?}", H::FAMILY);
    assert_eq!(order_safe, expected, "{} iter_safe", H::FAMILY);
    // SAFETY: see above.
    let first_next = ids(std::iter::successors(first, |&p| unsafe { H::next(p) }));
    assert_eq!(first_next, expected, "{} first/next", H::FAMILY);
    assert_eq!(
        head.is_empty(),
        expected.is_empty(),
        "{} is_empty",
        H::FAMILY
    );
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
