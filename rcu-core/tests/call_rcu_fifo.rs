//! `call_rcu`'s FIFO promise through the per-thread buffers, in the default domain and in an
//! independent `Domain` (the same engine): one thread's callbacks run in the order that thread
//! queued them, while the callback thread and `rcu_barrier` keep collecting the buffers
//! (the loom model `buffered_call_rcu_keeps_fifo_against_a_collector` in `tests/loom.rs` checks the
//! same hand-off exhaustively on a small scale).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use rcu_core::{DefaultDomain, Domain, RcuDomain};

/// What each producer's callbacks check and count.
struct Producer {
    /// Sequence number of the producer's last callback that ran.
    last: AtomicU64,
    /// Callbacks that ran out of order.
    inversions: AtomicU64,
    /// The first inversion seen: (expected, found), for the failure message.
    first: std::sync::Mutex<Option<(u64, u64)>>,
}

/// Two producers queue numbered callbacks as fast as they can while a third thread calls
/// `rcu_barrier` in a loop (each call collects every buffer, as the callback thread does before
/// each batch); every callback checks it follows its producer's previous one. Before the fix a
/// collision of an append with a collection reordered callbacks within a second.
#[test]
fn one_threads_callbacks_run_in_order_while_buffers_are_collected() {
    fifo(DefaultDomain);
}

#[test]
fn one_threads_callbacks_run_in_order_in_a_domain() {
    fifo(Domain::new());
}

fn fifo<D: RcuDomain>(domain: D) {
    const PRODUCERS: usize = 2;
    const MAX_PER_PRODUCER: u64 = 300_000;
    const MAX_TIME: Duration = Duration::from_secs(1);
    let producers: Arc<Vec<Producer>> = Arc::new(
        (0..PRODUCERS)
            .map(|_| Producer {
                last: AtomicU64::new(0),
                inversions: AtomicU64::new(0),
                first: std::sync::Mutex::new(None),
            })
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let barriers = Arc::new(AtomicUsize::new(0));
    let collector = {
        let (stop, barriers, domain) = (Arc::clone(&stop), Arc::clone(&barriers), domain.clone());
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                domain.barrier();
                barriers.fetch_add(1, SeqCst);
            }
        })
    };
    let start = Instant::now();
    let handles: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let producers = Arc::clone(&producers);
            let domain = domain.clone();
            thread::spawn(move || {
                let mut seq = 0;
                while seq < MAX_PER_PRODUCER && start.elapsed() < MAX_TIME {
                    seq += 1;
                    let producers = Arc::clone(&producers);
                    domain.call_rcu(move || {
                        let me = &producers[p];
                        let previous = me.last.swap(seq, SeqCst);
                        if previous + 1 != seq {
                            me.inversions.fetch_add(1, SeqCst);
                            me.first.lock().unwrap().get_or_insert((previous + 1, seq));
                        }
                    });
                }
                seq
            })
        })
        .collect();
    let queued: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, SeqCst);
    collector.join().unwrap();
    domain.barrier();
    for (p, (me, &n)) in producers.iter().zip(&queued).enumerate() {
        let inversions = me.inversions.load(SeqCst);
        if let Some((expected, ran)) = *me.first.lock().unwrap() {
            panic!(
                "producer {p}: {inversions} of its {n} callbacks ran out of order (the first: \
                 callback {ran} ran where {expected} was next) in {:?}, with {} barriers",
                start.elapsed(),
                barriers.load(SeqCst)
            );
        }
        // Proof of work: every callback ran, the last one last.
        assert_eq!(
            me.last.load(SeqCst),
            n,
            "producer {p}: not every callback ran"
        );
        assert!(n >= 1_000, "producer {p} queued only {n} callbacks");
    }
    eprintln!(
        "call_rcu FIFO: {queued:?} callbacks in order, {} barriers, {:?}",
        barriers.load(SeqCst),
        start.elapsed()
    );
}
