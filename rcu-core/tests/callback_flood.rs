//! The bound on pending callbacks under a flood (`CallbackLimit`): producers flooding `call_rcu`
//! with boxed payloads while a reader keeps entering short sections and a thread spins, so that
//! the callback thread gets only a share of the CPU. Passes on one core:
//! `taskset -c 0 cargo test -p rcu-core --test callback_flood` (about 3 s).
//!
//! The bound checked (module docs of `throttle.rs`): with *P* producers that may all wait, pending
//! callbacks never exceed *H* + *P* × 128 in every domain (each producer's per-thread buffer holds
//! at most 127 callbacks outside the counted queue, and each producer has at most one call between
//! its last check and the moment the queue passes *H*). Checked two ways: the queue's exact peak (`callbacks_queued_peak`) and
//! pending callbacks (`callbacks_pending`) sampled by a monitor thread.
//!
//! Negative control: the same flood with `producers_never_wait` (QEMU / liburcu behaviour) must
//! exceed the bound, which proves the check can fail.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rcu_core::{CallbackLimit, Domain, Stats};

const HIGH: u32 = 2_000;
const LOW: u32 = 100;
const PRODUCERS: u64 = 3;
/// A per-thread buffer hands its list over at this many callbacks (`buffer::LOCAL_MAX`).
const LOCAL_MAX: u64 = 128;
/// The bound of every domain (module docs).
const BOUND: u64 = HIGH as u64 + PRODUCERS * LOCAL_MAX;
const FLOOD_FOR: Duration = Duration::from_millis(800);
/// How long the reader stays in each section.
const SECTION: Duration = Duration::from_micros(300);

/// The tests share the CPU (one core under `taskset`): run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Where the flood goes.
#[derive(Clone)]
enum Target {
    Default,
    Domain(Domain),
}

impl Target {
    fn call_rcu(&self, f: impl FnOnce() + Send + 'static) {
        match self {
            Target::Default => rcu_core::call_rcu(f),
            Target::Domain(d) => d.call_rcu(f),
        }
    }

    fn section(&self, hold: Duration) {
        let spin = |start: Instant| {
            while start.elapsed() < hold {
                std::hint::spin_loop();
            }
        };
        match self {
            Target::Default => {
                let _g = rcu_core::read_lock();
                spin(Instant::now());
            }
            Target::Domain(d) => {
                let _g = d.read_lock();
                spin(Instant::now());
            }
        }
    }

    fn stats(&self) -> Stats {
        match self {
            Target::Default => rcu_core::stats(),
            Target::Domain(d) => d.stats(),
        }
    }

    fn barrier(&self) {
        match self {
            Target::Default => rcu_core::rcu_barrier(),
            Target::Domain(d) => d.barrier(),
        }
    }
}

struct Outcome {
    /// The largest `callbacks_pending` the monitor sampled.
    sampled_peak: u64,
    /// The domain's exact peak of its shared queue.
    queued_peak: u64,
    /// Payload-freeing callbacks that ran.
    ran: u64,
    /// Callbacks queued by the producers.
    queued: u64,
    waits: u64,
    sections: u64,
}

fn flood(target: &Target) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let ran = Arc::new(AtomicU64::new(0));
    let queued = Arc::new(AtomicU64::new(0));
    let sections = Arc::new(AtomicU64::new(0));
    let before = target.stats();
    let mut threads = Vec::new();
    for _ in 0..PRODUCERS {
        let (stop, ran, queued, target) =
            (stop.clone(), ran.clone(), queued.clone(), target.clone());
        threads.push(thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let payload = Box::new([i; 8]);
                let ran = ran.clone();
                target.call_rcu(move || {
                    assert_eq!(payload[7], i, "payload corrupted");
                    drop(payload);
                    ran.fetch_add(1, Ordering::Relaxed);
                });
                queued.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    {
        let (stop, sections, target) = (stop.clone(), sections.clone(), target.clone());
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                target.section(SECTION);
                sections.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    {
        let stop = stop.clone();
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }));
    }
    let start = Instant::now();
    let mut sampled_peak = 0;
    while start.elapsed() < FLOOD_FOR {
        sampled_peak = sampled_peak.max(target.stats().callbacks_pending());
        thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    target.barrier();
    let after = target.stats();
    Outcome {
        sampled_peak,
        queued_peak: after.callbacks_queued_peak,
        ran: ran.load(Ordering::Relaxed),
        queued: queued.load(Ordering::Relaxed),
        waits: after.callback_producer_waits - before.callback_producer_waits,
        sections: sections.load(Ordering::Relaxed),
    }
}

fn check_bounded(what: &str, out: &Outcome, bound: u64) {
    eprintln!(
        "{what}: queued {} ran {} waits {} sections {} queued peak {} sampled pending peak {} \
         (bound {bound})",
        out.queued, out.ran, out.waits, out.sections, out.queued_peak, out.sampled_peak
    );
    // Real work: every payload was freed by its callback, and there were many of them.
    assert_eq!(out.ran, out.queued, "{what}: not every callback ran");
    assert!(
        out.ran >= 10 * u64::from(HIGH),
        "{what}: only {} callbacks ran; the flood did too little to test the bound",
        out.ran
    );
    assert!(out.sections > 0, "{what}: the reader never held a section");
    assert!(
        out.queued_peak <= bound,
        "{what}: {} callbacks were queued at once, above the bound {bound}",
        out.queued_peak
    );
    assert!(
        out.sampled_peak <= bound,
        "{what}: {} callbacks were pending at once, above the bound {bound}",
        out.sampled_peak
    );
}

#[test]
fn default_domain_flood_stays_under_the_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    rcu_core::set_callback_limit(CallbackLimit::new(HIGH, LOW));
    let out = flood(&Target::Default);
    rcu_core::set_callback_limit(CallbackLimit::DEFAULT);
    check_bounded("default domain", &out, BOUND);
}

#[test]
fn domain_flood_stays_under_the_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let domain = Domain::new();
    domain.set_callback_limit(CallbackLimit::new(HIGH, LOW));
    let out = flood(&Target::Domain(domain));
    check_bounded("Domain", &out, BOUND);
}

/// Negative control: producers that never wait let the backlog pass the bound the tests above
/// check (the callback thread still expedites, but gets only its share of the CPU).
#[test]
fn flood_without_waiting_exceeds_the_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let domain = Domain::new();
    domain.set_callback_limit(CallbackLimit::new(HIGH, LOW).producers_never_wait());
    let out = flood(&Target::Domain(domain));
    eprintln!(
        "never wait: queued {} ran {} queued peak {} sampled pending peak {}",
        out.queued, out.ran, out.queued_peak, out.sampled_peak
    );
    assert_eq!(out.ran, out.queued, "not every callback ran");
    assert_eq!(out.waits, 0, "a producer waited although told never to");
    let bound = BOUND;
    assert!(
        out.queued_peak > bound,
        "the negative control stayed under the bound ({} <= {bound}): the flood does not load the \
         callback thread enough for the bounded tests to mean anything",
        out.queued_peak
    );
}
