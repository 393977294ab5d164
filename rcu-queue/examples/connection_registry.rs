//! A connection registry in an RCU list: an acceptor registers connections and keeps a `Handle`
//! to each, closers remove them by handle in O(1), and 4 threads walk the registry without a lock
//! (walk, lookup by peer, count) all along. Self-checking: readers never see a freed connection,
//! a handle removes its connection once, and every connection is dropped exactly once, after the
//! last reader and handle. About a second.
//!
//! ```sh
//! cargo run --release -p rcu-queue --example connection_registry
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rcu_queue::{Handle, RcuTailq};

const CONNECTIONS: u64 = 2_000;
const READERS: usize = 4;

static DROPPED: AtomicU64 = AtomicU64::new(0);

struct Connection {
    id: u64,
    peer: String,
    /// Cleared on drop: a reader that sees it false read freed memory.
    alive: AtomicBool,
}

impl Drop for Connection {
    fn drop(&mut self) {
        assert!(self.alive.swap(false, Relaxed), "dropped twice");
        DROPPED.fetch_add(1, Relaxed);
    }
}

fn main() {
    let started = Instant::now();
    let registry: RcuTailq<Connection> = RcuTailq::new();
    let done = AtomicBool::new(false);
    let (to_closer, closer_inbox) = mpsc::channel::<Handle<Connection>>();

    let (visited, found) = std::thread::scope(|s| {
        // Readers: no lock, never blocked by the acceptor or the closer.
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let (registry, done) = (&registry, &done);
                s.spawn(move || {
                    let (mut visited, mut found) = (0u64, 0u64);
                    while !done.load(Relaxed) || visited == 0 {
                        let guard = rcu_core::read_lock();
                        for conn in registry.iter(&guard) {
                            assert!(conn.alive.load(Relaxed), "a reader saw a freed connection");
                            assert!(conn.id < CONNECTIONS);
                            visited += 1;
                        }
                        // Look one up by peer, as a "kick this client" command would.
                        let wanted = format!("10.0.0.{}", (visited as usize + r) % 250);
                        found += u64::from(registry.iter(&guard).any(|c| c.peer == wanted));
                        // A lock-free count for a metrics endpoint.
                        assert!(registry.len() <= CONNECTIONS as usize);
                    }
                    (visited, found)
                })
            })
            .collect();

        // The closer: removes by handle, as a connection's own task would when its socket closes.
        let closer = s.spawn(|| {
            let mut closed = 0u64;
            for conn in closer_inbox {
                assert!(
                    registry.lock().remove(&conn),
                    "registered and not yet removed"
                );
                assert!(!registry.lock().remove(&conn), "a handle removes once");
                closed += 1;
                // Dropping `conn` here: the value is dropped after readers are done with it.
            }
            closed
        });

        // The acceptor: registers connections, keeps each handle for whoever will close it.
        for id in 0..CONNECTIONS {
            let conn = Connection {
                id,
                peer: format!("10.0.0.{}", id % 250),
                alive: AtomicBool::new(true),
            };
            let handle = registry.lock().push_back(conn).handle();
            to_closer.send(handle).unwrap();
            if id % 4 == 3 {
                // Pace the arrivals over about a second.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        drop(to_closer);
        assert_eq!(closer.join().unwrap(), CONNECTIONS);
        done.store(true, Relaxed);
        readers
            .into_iter()
            .map(|r| r.join().unwrap())
            .fold((0, 0), |(v, f), (rv, rf)| (v + rv, f + rf))
    });

    assert_eq!(registry.len(), 0, "every connection removed");
    assert!(registry.is_empty());
    rcu_core::rcu_barrier(); // every removed connection has been dropped by now
    assert_eq!(
        DROPPED.load(Relaxed),
        CONNECTIONS,
        "each connection dropped once"
    );
    println!(
        "connection_registry: {CONNECTIONS} connections registered and removed by handle; \
         {READERS} readers visited {visited} entries, found {found} peers; {:.2?}",
        started.elapsed()
    );
    assert!(visited > 0);
}
