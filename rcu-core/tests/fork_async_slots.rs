//! `fork()` while other threads open grace-period slots (`gp_async.rs`): a future that opens a slot
//! releases the slot table's lock before it queues the slot's closing callback, and a callback that
//! `fork()` catches inside `call_rcu`'s enqueue is dropped in the child. Either way the child
//! inherits an open slot that no callback will close. A child's `synchronize_rcu_async` whose
//! snapshot matches that slot joined it and hung forever (seen in CI: "fork 26 for
//! `synchronize_rcu_async`: child failed (hung, killed after 30 s)"). The child now queues a fresh
//! closing callback for every slot it inherits. Its own test binary: it forks only while its own
//! threads run (none starts or exits).

#![cfg(unix)]

use rcu_test_support::fork;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Waker};
use std::thread;
use std::time::{Duration, Instant};

use fork::{describe, exited_ok, fork_with};
use rcu_test_support::block_on;

/// Threads keep opening slots (every snapshot a new one, since another thread keeps running grace
/// periods) while the main thread forks children that await a grace period; every child must
/// finish. A parent future that is pending across the fork must also complete in the child.
#[test]
fn children_forked_while_slots_open_do_not_hang() {
    const MAX_FORKS: u32 = 400;
    const MAX_TIME: Duration = Duration::from_millis(2500);
    let stop = AtomicBool::new(false);
    let opened = AtomicUsize::new(0);
    let gps = AtomicUsize::new(0);
    // A future of the forking thread itself, pending when the children are forked.
    let mut mine = Box::pin(rcu_core::synchronize_rcu_async());
    let _perturb = rcu_test_support::perturb::start();
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                rcu_test_support::perturb::favour_current_thread();
                while !stop.load(SeqCst) {
                    let mut future = pin!(rcu_core::synchronize_rcu_async());
                    let polled = future
                        .as_mut()
                        .poll(&mut Context::from_waker(Waker::noop()));
                    if polled.is_pending() {
                        opened.fetch_add(1, SeqCst);
                    }
                }
            });
        }
        s.spawn(|| {
            while !stop.load(SeqCst) {
                rcu_core::synchronize_rcu();
                gps.fetch_add(1, SeqCst);
            }
        });
        let start = Instant::now();
        let mut forks = 0;
        let mut failure = None;
        while forks < MAX_FORKS && start.elapsed() < MAX_TIME {
            let pending = mine
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending();
            let status = fork_with(|| {
                block_on(rcu_core::synchronize_rcu_async());
                if pending {
                    block_on(mine.as_mut());
                }
                0
            });
            forks += 1;
            if !exited_ok(status) {
                failure = Some(format!(
                    "fork {forks}: child failed ({}) after {} pending polls and {} grace periods \
                     in the parent",
                    describe(status),
                    opened.load(SeqCst),
                    gps.load(SeqCst)
                ));
                break;
            }
            if !pending {
                mine = Box::pin(rcu_core::synchronize_rcu_async());
            }
        }
        stop.store(true, SeqCst);
        if let Some(failure) = failure {
            panic!("{failure}");
        }
        eprintln!(
            "{forks} children forked while {} futures parked and {} grace periods ran",
            opened.load(SeqCst),
            gps.load(SeqCst)
        );
        assert!(
            opened.load(SeqCst) >= 100 && gps.load(SeqCst) >= 10,
            "the slot openers did almost nothing: the forks did not race with them"
        );
    });
}
