//! A hot-reloaded configuration, read by 8 threads and by tokio tasks while a writer reloads it
//! 200 times. Self-checking: every read sees one whole configuration, each thread sees versions
//! in order, every old configuration is dropped exactly once. About a second.
//!
//! ```sh
//! cargo run --release -p rcu-core --example config_reload
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use rcu_core::{Loaded, RcuArcCell, rcu_barrier, synchronize_rcu_async};

const READER_THREADS: usize = 8;
const TASKS: usize = 16;
const RELOADS: u64 = 200;

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// A configuration whose fields all derive from its version, so a torn or half-built read shows.
struct Config {
    version: u64,
    backends: Vec<String>,
    timeout_ms: u64,
}

impl Config {
    fn new(version: u64) -> Self {
        Config {
            version,
            backends: (0..3).map(|i| format!("10.{version}.0.{i}")).collect(),
            timeout_ms: 100 + version,
        }
    }

    /// Panics unless every field belongs to the same version.
    fn check(&self) {
        assert_eq!(self.timeout_ms, 100 + self.version);
        let prefix = format!("10.{}.", self.version);
        assert!(self.backends.iter().all(|b| b.starts_with(&prefix)));
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Relaxed);
    }
}

/// What an application holds: the cell behind methods that hand out reads.
struct Service {
    config: RcuArcCell<Config>,
}

impl Service {
    /// A short read, returned from a helper: it holds a read-side critical section until dropped,
    /// so never keep it across an `.await`.
    fn current(&self) -> Loaded<'_, Config> {
        self.config.load()
    }

    /// An owned snapshot: an `Arc` that may live across `.await` or move to another thread.
    fn snapshot(&self) -> Arc<Config> {
        self.config.load_full()
    }

    fn reload(&self, version: u64) {
        self.config.store(Arc::new(Config::new(version)));
    }
}

fn main() {
    let started = Instant::now();
    let service = Arc::new(Service {
        config: RcuArcCell::from_pointee(Config::new(0)),
    });
    let stop = Arc::new(AtomicBool::new(false));

    // 8 threads read in a loop.
    let threads: Vec<_> = (0..READER_THREADS)
        .map(|_| {
            let (service, stop) = (service.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut reads, mut last) = (0u64, 0);
                while !stop.load(Relaxed) || reads == 0 {
                    let config = service.current();
                    config.check();
                    assert!(config.version >= last, "versions go forward on one thread");
                    last = config.version;
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    // Tokio tasks read too: short reads end before any `.await`, snapshots cross it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (service, stop) = (service.clone(), stop.clone());
            runtime.spawn(async move {
                let mut reads = 0u64;
                while !stop.load(Relaxed) || reads == 0 {
                    let version = service.current().version; // the section ends here
                    let snapshot = service.snapshot();
                    tokio::task::yield_now().await;
                    snapshot.check();
                    assert!(snapshot.version >= version);
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    // The writer: reload, pacing the reloads over about a second.
    for version in 1..=RELOADS {
        service.reload(version);
        std::thread::sleep(Duration::from_millis(4));
    }
    // A writer that must know "every reader now sees the last version" awaits a grace period
    // (without blocking an executor thread).
    runtime.block_on(synchronize_rcu_async());
    stop.store(true, Relaxed);

    let thread_reads: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let task_reads: u64 = runtime.block_on(async {
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    });
    drop(runtime);

    assert_eq!(service.current().version, RELOADS);
    rcu_barrier(); // every replaced configuration has been dropped by now
    assert_eq!(
        DROPPED.load(Relaxed),
        RELOADS,
        "each old version dropped once"
    );
    println!(
        "config_reload: {RELOADS} reloads; {thread_reads} reads by {READER_THREADS} threads, \
         {task_reads} by {TASKS} tokio tasks; {} old configs dropped; {:.2?}",
        DROPPED.load(Relaxed),
        started.elapsed()
    );
    assert!(thread_reads >= READER_THREADS as u64 && task_reads >= TASKS as u64);
}
