//! A `String`-keyed cache on `RcuHashMap`: 4 threads look pages up by `&str` without a lock and
//! render the missing ones (get-or-insert through `entry`), while an evictor removes keys and the
//! table grows and shrinks under them. Self-checking: a lookup always finds the page of its own
//! key, never a freed one, and every page rendered is dropped exactly once. About a second.
//!
//! ```sh
//! cargo run --release -p rcu-queue --example string_cache
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use rcu_queue::RcuHashMap;

const LOOKUP_THREADS: u64 = 4;
const KEYS: u64 = 1_000;
const EVICTION_ROUNDS: u64 = 250;

static RENDERED: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

struct Page {
    path: String,
    body: String,
    /// Cleared on drop: a reader that sees it false read freed memory.
    alive: AtomicBool,
}

impl Page {
    fn render(path: &str) -> Page {
        RENDERED.fetch_add(1, Relaxed);
        Page {
            path: path.to_owned(),
            body: format!("<h1>{path}</h1>"),
            alive: AtomicBool::new(true),
        }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        assert!(self.alive.swap(false, Relaxed), "dropped twice");
        DROPPED.fetch_add(1, Relaxed);
    }
}

/// The body's length for `path`, from the cache or freshly rendered; `true` on a hit.
fn lookup(cache: &RcuHashMap<String, Page>, path: &str) -> (usize, bool) {
    // A pin holds a read guard: what it returns stays valid until it is dropped.
    let cache = cache.pin();
    if let Some(page) = cache.get(path) {
        // `get` takes `&str` for `String` keys: no allocation on a hit.
        assert!(page.alive.load(Relaxed), "a reader saw a freed page");
        assert_eq!(page.path, path);
        return (page.body.len(), true);
    }
    // Miss: render under the key's entry, so two threads missing at once render it once; the page
    // returned is this thread's or the other's.
    let page = cache
        .entry(path.to_owned())
        .or_insert_with(|| Page::render(path));
    assert!(page.alive.load(Relaxed), "a reader saw a freed page");
    (page.body.len(), false)
}

fn main() {
    let started = Instant::now();
    let cache: RcuHashMap<String, Page> = RcuHashMap::new();
    let done = AtomicBool::new(false);

    let (hits, misses) = std::thread::scope(|s| {
        let threads: Vec<_> = (0..LOOKUP_THREADS)
            .map(|t| {
                let (cache, done) = (&cache, &done);
                s.spawn(move || {
                    let (mut hits, mut misses, mut x) = (0u64, 0u64, t + 1);
                    while !done.load(Relaxed) || hits + misses == 0 {
                        // xorshift: a cheap spread over the keys.
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let path = format!("/page/{}", x % KEYS);
                        let (len, hit) = lookup(cache, &path);
                        assert_eq!(len, path.len() + 9);
                        if hit { hits += 1 } else { misses += 1 }
                    }
                    (hits, misses)
                })
            })
            .collect();

        // The evictor: drops a slice of the keys each round, so lookups keep missing and the table
        // keeps resizing under the readers.
        for round in 0..EVICTION_ROUNDS {
            let slice = round % 10;
            cache.retain(|path, _| !path.ends_with(&slice.to_string()));
            assert!(cache.len() <= KEYS as usize);
            std::thread::sleep(Duration::from_millis(3));
        }
        done.store(true, Relaxed);
        threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .fold((0, 0), |(h, m), (th, tm)| (h + th, m + tm))
    });

    let cached = cache.len();
    drop(cache); // its pages are dropped after a grace period, like removed ones
    rcu_core::rcu_barrier();
    let rendered = RENDERED.load(Relaxed);
    assert_eq!(DROPPED.load(Relaxed), rendered, "each page dropped once");
    println!(
        "string_cache: {hits} hits, {misses} misses, {rendered} pages rendered, {cached} cached \
         at the end; {:.2?}",
        started.elapsed()
    );
    assert!(hits > 0 && misses > 0);
}
