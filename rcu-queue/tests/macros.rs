//! The `rcu_queue::q*_rcu!` macros against the raw head methods they expand to: every node of one
//! arena embeds two links per family, one for a head driven by the raw methods and one for a head
//! driven by the macros. Each family applies the same operations to both heads (every macro at least
//! once) and checks after each step that both lists agree, read through the raw methods and through the
//! macros (`iter` vs `*_foreach_rcu!`, `first`/`next` vs `*_first_rcu!`/`*_next_rcu!`, `is_empty` vs
//! `*_empty_rcu!`).
//!
//! Every `unsafe` block here has the same argument: this single thread is the only writer and reader,
//! the arena outlives both heads and is never moved or freed while linked, each node is linked at most
//! once per head, position arguments are on the list, and list reads happen under a read guard.
#![cfg(not(loom))]

use core::ptr::NonNull;
use rcu_queue::raw::{
    Head, QListHead, QListLink, QSListHead, QSListLink, QSimpleqHead, QSimpleqLink, QTailqHead,
    QTailqLink,
};
use rcu_queue::{
    qlist_empty_rcu, qlist_first_rcu, qlist_foreach_rcu, qlist_foreach_safe_rcu,
    qlist_insert_after_rcu, qlist_insert_before_rcu, qlist_insert_head_rcu, qlist_next_rcu,
    qlist_remove_rcu, qsimpleq_empty_rcu, qsimpleq_first_rcu, qsimpleq_foreach_rcu,
    qsimpleq_foreach_safe_rcu, qsimpleq_insert_after_rcu, qsimpleq_insert_head_rcu,
    qsimpleq_insert_tail_rcu, qsimpleq_next_rcu, qsimpleq_remove_head_rcu, qsimpleq_remove_rcu,
    qslist_empty_rcu, qslist_first_rcu, qslist_foreach_rcu, qslist_foreach_safe_rcu,
    qslist_insert_after_rcu, qslist_insert_head_rcu, qslist_next_rcu, qslist_remove_head_rcu,
    qslist_remove_rcu, qtailq_empty_rcu, qtailq_first_rcu, qtailq_foreach_rcu,
    qtailq_foreach_safe_rcu, qtailq_insert_after_rcu, qtailq_insert_before_rcu,
    qtailq_insert_head_rcu, qtailq_insert_tail_rcu, qtailq_next_rcu, qtailq_remove_rcu,
};

struct Node {
    id: u32,
    tq_raw: QTailqLink,
    tq_mac: QTailqLink,
    l_raw: QListLink,
    l_mac: QListLink,
    sq_raw: QSimpleqLink,
    sq_mac: QSimpleqLink,
    sl_raw: QSListLink,
    sl_mac: QSListLink,
}

rcu_queue::adapter!(TqRaw = Node { tq_raw: QTailqLink });
rcu_queue::adapter!(TqMac = Node { tq_mac: QTailqLink });
rcu_queue::adapter!(LRaw = Node { l_raw: QListLink });
rcu_queue::adapter!(LMac = Node { l_mac: QListLink });
rcu_queue::adapter!(
    SqRaw = Node {
        sq_raw: QSimpleqLink
    }
);
rcu_queue::adapter!(
    SqMac = Node {
        sq_mac: QSimpleqLink
    }
);
rcu_queue::adapter!(SlRaw = Node { sl_raw: QSListLink });
rcu_queue::adapter!(SlMac = Node { sl_mac: QSListLink });

fn arena() -> [Node; 5] {
    core::array::from_fn(|i| Node {
        id: i as u32,
        tq_raw: QTailqLink::new(),
        tq_mac: QTailqLink::new(),
        l_raw: QListLink::new(),
        l_mac: QListLink::new(),
        sq_raw: QSimpleqLink::new(),
        sq_mac: QSimpleqLink::new(),
        sl_raw: QSListLink::new(),
        sl_mac: QSListLink::new(),
    })
}

fn id(p: NonNull<Node>) -> u32 {
    // SAFETY: every pointer handed out in these tests points into a live arena.
    unsafe { p.as_ref() }.id
}

/// Reads both heads every way the raw API and the macros offer, asserts they all agree, and returns
/// the common order of ids.
macro_rules! agree {
    ($raw:expr, $mac:expr, $MacAdapter:ty, $empty:ident, $first:ident, $next:ident,
     $foreach:ident) => {{
        let (raw, mac) = (&$raw, &$mac);
        let _guard = rcu_core::read_lock();
        // SAFETY: see the file header; we are inside a read-side critical section.
        let by_raw: Vec<u32> = unsafe { raw.iter() }.map(id).collect();
        let mut by_foreach = Vec::new();
        // SAFETY: as above.
        unsafe { $foreach!(p in mac => { by_foreach.push(id(p)); }) };
        let mut by_first_next = Vec::new();
        // SAFETY: as above; each `p` was reached from `mac` in this critical section.
        let mut cur = unsafe { $first!(mac) };
        while let Some(p) = cur {
            by_first_next.push(id(p));
            // SAFETY: as above.
            cur = unsafe { $next!(p, $MacAdapter) };
        }
        // SAFETY: as above.
        let raw_first = unsafe { raw.first() }.map(id);
        // SAFETY: as above.
        let mac_first = unsafe { $first!(mac) }.map(id);
        assert_eq!(by_foreach, by_raw, "foreach macro vs raw iter");
        assert_eq!(by_first_next, by_raw, "first/next macros vs raw iter");
        assert_eq!(mac_first, raw_first, "first macro vs raw first");
        assert_eq!($empty!(mac), raw.is_empty(), "empty macro vs raw is_empty");
        assert_eq!($empty!(*mac), by_raw.is_empty(), "empty macro on a place expression");
        by_raw
    }};
}

#[test]
fn qtailq_macros_match_raw_methods() {
    let mut nodes = arena();
    let [n0, n1, n2, n3, n4] = nodes.each_mut().map(NonNull::from);
    let raw = QTailqHead::<TqRaw>::new();
    let mac = QTailqHead::<TqMac>::new();
    macro_rules! check {
        () => {
            agree!(
                raw,
                mac,
                TqMac,
                qtailq_empty_rcu,
                qtailq_first_rcu,
                qtailq_next_rcu,
                qtailq_foreach_rcu
            )
        };
    }
    assert_eq!(check!(), [0u32; 0]);
    // SAFETY: see the file header.
    unsafe {
        raw.insert_head(n1);
        qtailq_insert_head_rcu!(mac, n1);
        raw.insert_tail(n3);
        qtailq_insert_tail_rcu!(mac, n3);
        raw.insert_after(n1, n2);
        qtailq_insert_after_rcu!(mac, n1, n2);
        raw.insert_before(n1, n0);
        qtailq_insert_before_rcu!(&mac, n1, n0); // a head given by reference works too
        raw.insert_after(n3, n4);
        qtailq_insert_after_rcu!(mac, n3, n4);
    }
    assert_eq!(check!(), [0, 1, 2, 3, 4]);
    // SAFETY: see the file header.
    unsafe {
        raw.remove(n2);
        qtailq_remove_rcu!(mac, n2);
    }
    assert_eq!(check!(), [0, 1, 3, 4]);
    // SAFETY: see the file header; the loop bodies only remove the element they were given.
    unsafe {
        for p in raw.iter_safe() {
            if id(p) % 2 == 1 {
                raw.remove(p);
            }
        }
        qtailq_foreach_safe_rcu!(p in mac => {
            if id(p) % 2 == 1 {
                qtailq_remove_rcu!(mac, p);
            }
        });
    }
    assert_eq!(check!(), [0, 4]);
    assert!(!nodes[1].tq_mac.in_use() && nodes[4].tq_mac.in_use());
}

#[test]
fn qlist_macros_match_raw_methods() {
    let mut nodes = arena();
    let [n0, n1, n2, n3, n4] = nodes.each_mut().map(NonNull::from);
    let raw = QListHead::<LRaw>::new();
    let mac = QListHead::<LMac>::new();
    macro_rules! check {
        () => {
            agree!(
                raw,
                mac,
                LMac,
                qlist_empty_rcu,
                qlist_first_rcu,
                qlist_next_rcu,
                qlist_foreach_rcu
            )
        };
    }
    assert_eq!(check!(), [0u32; 0]);
    // SAFETY: see the file header.
    unsafe {
        raw.insert_head(n3);
        qlist_insert_head_rcu!(mac, n3);
        raw.insert_head(n1);
        qlist_insert_head_rcu!(mac, n1);
        raw.insert_after(n1, n2);
        qlist_insert_after_rcu!(mac, n1, n2);
        raw.insert_before(n1, n0);
        qlist_insert_before_rcu!(mac, n1, n0);
        raw.insert_after(n3, n4);
        qlist_insert_after_rcu!(mac, n3, n4);
    }
    assert_eq!(check!(), [0, 1, 2, 3, 4]);
    // SAFETY: see the file header.
    unsafe {
        raw.remove(n2);
        qlist_remove_rcu!(mac, n2);
    }
    assert_eq!(check!(), [0, 1, 3, 4]);
    // SAFETY: see the file header; the loop bodies only remove the element they were given.
    unsafe {
        for p in raw.iter_safe() {
            if id(p) % 2 == 1 {
                raw.remove(p);
            }
        }
        qlist_foreach_safe_rcu!(p in mac => {
            if id(p) % 2 == 1 {
                qlist_remove_rcu!(mac, p);
            }
        });
    }
    assert_eq!(check!(), [0, 4]);
}

#[test]
fn qsimpleq_macros_match_raw_methods() {
    let mut nodes = arena();
    let [n0, n1, n2, n3, n4] = nodes.each_mut().map(NonNull::from);
    let raw = QSimpleqHead::<SqRaw>::new();
    let mac = QSimpleqHead::<SqMac>::new();
    macro_rules! check {
        () => {
            agree!(
                raw,
                mac,
                SqMac,
                qsimpleq_empty_rcu,
                qsimpleq_first_rcu,
                qsimpleq_next_rcu,
                qsimpleq_foreach_rcu
            )
        };
    }
    assert_eq!(check!(), [0u32; 0]);
    // SAFETY: see the file header.
    unsafe {
        raw.insert_head(n1);
        qsimpleq_insert_head_rcu!(mac, n1);
        raw.insert_tail(n3);
        qsimpleq_insert_tail_rcu!(mac, n3);
        raw.insert_after(n1, n2);
        qsimpleq_insert_after_rcu!(mac, n1, n2);
        raw.insert_head(n0);
        qsimpleq_insert_head_rcu!(mac, n0);
        raw.insert_after(n3, n4);
        qsimpleq_insert_after_rcu!(mac, n3, n4);
    }
    assert_eq!(check!(), [0, 1, 2, 3, 4]);
    // SAFETY: see the file header.
    let (raw_head, mac_head) = unsafe {
        raw.remove(n2);
        qsimpleq_remove_rcu!(mac, n2);
        (
            raw.remove_head().map(id),
            qsimpleq_remove_head_rcu!(mac).map(id),
        )
    };
    assert_eq!((raw_head, mac_head), (Some(0), Some(0)));
    assert_eq!(check!(), [1, 3, 4]);
    // SAFETY: see the file header; the loop bodies only remove the element they were given.
    unsafe {
        for p in raw.iter_safe() {
            if id(p) % 2 == 1 {
                raw.remove(p);
            }
        }
        qsimpleq_foreach_safe_rcu!(p in mac => {
            if id(p) % 2 == 1 {
                qsimpleq_remove_rcu!(mac, p);
            }
        });
    }
    assert_eq!(check!(), [4]);
    // SAFETY: see the file header.
    let drained = unsafe {
        raw.remove_head();
        (
            qsimpleq_remove_head_rcu!(mac).map(id),
            qsimpleq_remove_head_rcu!(mac),
        )
    };
    assert_eq!(drained, (Some(4), None));
    assert_eq!(check!(), [0u32; 0]);
}

#[test]
fn qslist_macros_match_raw_methods() {
    let mut nodes = arena();
    let [n0, n1, n2, n3, n4] = nodes.each_mut().map(NonNull::from);
    let raw = QSListHead::<SlRaw>::new();
    let mac = QSListHead::<SlMac>::new();
    macro_rules! check {
        () => {
            agree!(
                raw,
                mac,
                SlMac,
                qslist_empty_rcu,
                qslist_first_rcu,
                qslist_next_rcu,
                qslist_foreach_rcu
            )
        };
    }
    assert_eq!(check!(), [0u32; 0]);
    // SAFETY: see the file header.
    unsafe {
        raw.insert_head(n1);
        qslist_insert_head_rcu!(mac, n1);
        raw.insert_after(n1, n3);
        qslist_insert_after_rcu!(mac, n1, n3);
        raw.insert_after(n1, n2);
        qslist_insert_after_rcu!(mac, n1, n2);
        raw.insert_head(n0);
        qslist_insert_head_rcu!(mac, n0);
        raw.insert_after(n3, n4);
        qslist_insert_after_rcu!(mac, n3, n4);
    }
    assert_eq!(check!(), [0, 1, 2, 3, 4]);
    // SAFETY: see the file header.
    let (raw_head, mac_head) = unsafe {
        raw.remove(n2);
        qslist_remove_rcu!(mac, n2);
        (
            raw.remove_head().map(id),
            qslist_remove_head_rcu!(mac).map(id),
        )
    };
    assert_eq!((raw_head, mac_head), (Some(0), Some(0)));
    assert_eq!(check!(), [1, 3, 4]);
    // SAFETY: see the file header; the loop bodies only remove the element they were given.
    unsafe {
        for p in raw.iter_safe() {
            if id(p) % 2 == 1 {
                raw.remove(p);
            }
        }
        qslist_foreach_safe_rcu!(p in mac => {
            if id(p) % 2 == 1 {
                qslist_remove_rcu!(mac, p);
            }
        });
    }
    assert_eq!(check!(), [4]);
}

/// `break` and `continue` inside a `*_foreach_rcu!` body act on the expanded `for` loop.
#[test]
fn foreach_body_supports_break_and_continue() {
    let mut nodes = arena();
    let ptrs = nodes.each_mut().map(NonNull::from);
    let head = QTailqHead::<TqMac>::new();
    // SAFETY: see the file header.
    unsafe {
        for p in ptrs {
            qtailq_insert_tail_rcu!(head, p);
        }
    }
    let _guard = rcu_core::read_lock();
    let mut seen = Vec::new();
    // SAFETY: see the file header; inside a read-side critical section.
    unsafe {
        qtailq_foreach_rcu!(p in head => {
            if id(p) == 1 {
                continue;
            }
            if id(p) == 3 {
                break;
            }
            seen.push(id(p));
        });
    }
    assert_eq!(seen, [0, 2]);
}

/// `*_foreach_safe_rcu!` loads each successor before running the body (the raw `iter_safe`), so an
/// element inserted right after the current one is not visited; `*_foreach_rcu!` (the raw `iter`) does
/// visit it. This tells the two expansions apart in every family.
#[test]
fn foreach_safe_reads_the_successor_before_the_body() {
    macro_rules! family {
        ($Head:ident, $A:ty, $insert_head:ident, $insert_after:ident, $foreach:ident, $foreach_safe:ident) => {{
            let mut nodes = arena();
            let [n0, n1, n2, n3, _] = nodes.each_mut().map(NonNull::from);
            let head = $Head::<$A>::new();
            let (mut safe_seen, mut seen) = (Vec::new(), Vec::new());
            // SAFETY: see the file header; each inserted node is linked once.
            unsafe {
                $insert_head!(head, n0);
                $foreach_safe!(p in head => {
                    safe_seen.push(id(p));
                    if id(p) == 0 {
                        $insert_after!(head, n0, n1);
                    }
                });
                $foreach!(p in head => {
                    seen.push(id(p));
                    if id(p) == 1 {
                        $insert_after!(head, n1, n2);
                    }
                    if id(p) == 2 {
                        $insert_after!(head, n2, n3);
                    }
                });
            }
            assert_eq!((safe_seen, seen), (vec![0], vec![0, 1, 2, 3]), stringify!($Head));
        }};
    }
    family!(
        QTailqHead,
        TqMac,
        qtailq_insert_head_rcu,
        qtailq_insert_after_rcu,
        qtailq_foreach_rcu,
        qtailq_foreach_safe_rcu
    );
    family!(
        QListHead,
        LMac,
        qlist_insert_head_rcu,
        qlist_insert_after_rcu,
        qlist_foreach_rcu,
        qlist_foreach_safe_rcu
    );
    family!(
        QSimpleqHead,
        SqMac,
        qsimpleq_insert_head_rcu,
        qsimpleq_insert_after_rcu,
        qsimpleq_foreach_rcu,
        qsimpleq_foreach_safe_rcu
    );
    family!(
        QSListHead,
        SlMac,
        qslist_insert_head_rcu,
        qslist_insert_after_rcu,
        qslist_foreach_rcu,
        qslist_foreach_safe_rcu
    );
}
