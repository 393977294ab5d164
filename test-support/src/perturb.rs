//! Signal-driven scheduling perturbation: widens race windows anywhere in the process, the library
//! code included, without any hook in it.
//!
//! [`start`] starts (or joins) one perturber thread per process. Until the last [`Perturber`] is
//! dropped it lists the process's threads (`/proc/self/task`, every 10 ms) and sends [`SIGNAL`]
//! (`SIGURG`, ignored by default and used by nothing in the workspace; Go's runtime uses it for the
//! same purpose) with `tgkill` to one of them at random, every 0 to 2 × the mean interval (200 µs by
//! default). The handler pauses the interrupted thread wherever it is: 10 times in 16 it spins for up
//! to 20 µs, 4 times it calls `sched_yield` one to four times, 2 times it sleeps up to
//! 2 ms (`nanosleep`), long enough for another thread to finish a grace period and a callback
//! thread to free what the paused thread was about to read. The handler only calls
//! async-signal-safe functions (`clock_gettime`, `sched_yield`, `nanosleep`), touches only atomics
//! and preserves `errno`; it is installed with `SA_RESTART`, so interrupted system calls restart
//! (those that report `EINTR` anyway, such as futex waits, are retried by std).
//!
//! Threads created by library code (qdev-demo's I/O threads, rcu-core's callback thread) are
//! perturbed too: nothing has to register. A thread can ask for a larger share of the signals with
//! [`favour_current_thread`].
//!
//! `RCU_TEST_PERTURB=0` turns it off; `RCU_TEST_PERTURB_INTERVAL_US` and
//! `RCU_TEST_PERTURB_MAX_SLEEP_US` set the mean interval and the longest sleep.
//!
//! # Example
//!
//! ```
//! let perturber = rcu_test_support::perturb::start();
//! let before = rcu_test_support::perturb::stats();
//! let sum: u64 = std::thread::scope(|s| {
//!     let worker = s.spawn(|| (0..2_000_000u64).map(std::hint::black_box).sum::<u64>());
//!     worker.join().unwrap()
//! });
//! assert_eq!(sum, 1_999_999_000_000);
//! drop(perturber);
//! assert!(rcu_test_support::perturb::stats().signals_sent >= before.signals_sent);
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The signal the perturber sends.
pub const SIGNAL: libc::c_int = libc::SIGURG;
/// Environment variable: `0` turns the perturber off.
pub const ENV: &str = "RCU_TEST_PERTURB";
/// Environment variable: mean microseconds between two signals (default 200).
pub const INTERVAL_ENV: &str = "RCU_TEST_PERTURB_INTERVAL_US";
/// Environment variable: the longest sleep of the handler, in microseconds (default 2000).
pub const MAX_SLEEP_ENV: &str = "RCU_TEST_PERTURB_MAX_SLEEP_US";

const DEFAULT_INTERVAL_US: u64 = 200;
const DEFAULT_MAX_SLEEP_US: u64 = 10_000;
const MAX_SPIN_NS: u64 = 20_000;
const SHORT_SLEEP_NS: u64 = 1_000_000;
const TASK_LIST_REFRESH: Duration = Duration::from_millis(10);

static SEED: AtomicU64 = AtomicU64::new(0x853C_49E6_748F_EA9B);
static MAX_SLEEP_NS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_SLEEP_US * 1000);
static SIGNALS_SENT: AtomicU64 = AtomicU64::new(0);
static PAUSES: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

/// The perturber thread, shared by every live [`Perturber`].
struct Shared {
    users: usize,
    stop: Option<Arc<AtomicBool>>,
    thread: Option<JoinHandle<()>>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    users: 0,
    stop: None,
    thread: None,
});

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn next_random() -> u64 {
    splitmix64(SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed))
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// The signal handler: pauses the interrupted thread. Async-signal-safe only.
extern "C" fn on_signal(_signal: libc::c_int) {
    // SAFETY: errno is thread-local; the location is valid for this thread's lifetime.
    let errno = unsafe { *libc::__errno_location() };
    let r = next_random();
    let arg = r >> 8;
    match r % 16 {
        0..=9 => {
            let until = monotonic_ns() + arg % MAX_SPIN_NS;
            while monotonic_ns() < until {
                std::hint::spin_loop();
            }
        }
        10..=12 => {
            for _ in 0..=arg % 4 {
                // SAFETY: sched_yield has no preconditions and is async-signal-safe.
                unsafe { libc::sched_yield() };
            }
        }
        13..=14 => sleep_ns(arg % SHORT_SLEEP_NS),
        _ => sleep_ns(arg % MAX_SLEEP_NS.load(Relaxed).max(1)),
    }
    PAUSES.fetch_add(1, Relaxed);
    // SAFETY: as above; restores the interrupted code's errno.
    unsafe { *libc::__errno_location() = errno };
}

/// Sleeps `ns` nanoseconds (an interruption only shortens the pause). Async-signal-safe.
fn sleep_ns(ns: u64) {
    let ts = libc::timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: `ts` is a valid timespec; a null remainder is allowed; nanosleep is async-signal-safe.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

fn install_handler() {
    INSTALL.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler is an
        // `extern "C" fn(c_int)` that only does async-signal-safe work; the mask is initialised by
        // sigemptyset before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let rc = libc::sigaction(SIGNAL, &action, std::ptr::null_mut());
            assert_eq!(
                rc,
                0,
                "perturb: sigaction(SIGURG) failed: {}",
                std::io::Error::last_os_error()
            );
        }
    });
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as libc::pid_t }
}

fn task_ids(me: libc::pid_t) -> Vec<libc::pid_t> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|&tid| tid != me)
                .collect()
        })
        .unwrap_or_default()
}

/// Threads that asked for a larger share of the signals ([`favour_current_thread`]).
static FAVOURED: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

/// Gives the calling thread (with the other favoured threads) half of all signals, until it exits.
/// A stress test calls it in the threads whose race windows matter most, e.g. writers that read
/// shared state outside any read-side critical section, so that they are paused far more often
/// than the threads that merely keep the run busy.
///
/// ```
/// let _p = rcu_test_support::perturb::start();
/// std::thread::spawn(|| {
///     rcu_test_support::perturb::favour_current_thread();
///     // ... the racy work ...
/// })
/// .join()
/// .unwrap();
/// ```
pub fn favour_current_thread() {
    let tid = gettid();
    let mut favoured = FAVOURED.lock().unwrap_or_else(PoisonError::into_inner);
    if !favoured.contains(&tid) {
        favoured.push(tid);
    }
}

fn perturber_thread(stop: &AtomicBool, interval_us: u64) {
    let (pid, me) = (std::process::id() as libc::pid_t, gettid());
    let (mut tids, mut favoured) = (Vec::new(), Vec::new());
    let mut refreshed: Option<Instant> = None;
    while !stop.load(Relaxed) {
        if refreshed.is_none_or(|t| t.elapsed() >= TASK_LIST_REFRESH) {
            tids = task_ids(me);
            let mut list = FAVOURED.lock().unwrap_or_else(PoisonError::into_inner);
            // Threads that exited leave the list.
            list.retain(|tid| tids.contains(tid));
            favoured.clone_from(&list);
            drop(list);
            refreshed = Some(Instant::now());
        }
        let r = next_random();
        let pool = if r & 1 == 1 && !favoured.is_empty() {
            &favoured
        } else {
            &tids
        };
        if !pool.is_empty() {
            let tid = pool[((r >> 1) % pool.len() as u64) as usize];
            // SAFETY: tgkill only sends a signal; a thread that has exited makes it fail (ESRCH),
            // and the tgid check keeps it inside this process.
            let rc = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, SIGNAL) };
            if rc == 0 {
                SIGNALS_SENT.fetch_add(1, Relaxed);
            }
        }
        let micros = next_random() % (2 * interval_us).max(1);
        std::thread::sleep(Duration::from_micros(micros));
    }
}

/// A handle on the process's perturber thread: perturbation lasts while any handle is alive.
#[derive(Debug)]
#[must_use = "perturbation stops when the Perturber is dropped"]
pub struct Perturber {
    active: bool,
}

impl Perturber {
    /// Whether this handle perturbs (false when `RCU_TEST_PERTURB=0`).
    pub fn is_active(&self) -> bool {
        self.active
    }
}

/// Starts perturbing every thread of the process (or joins the running perturber), unless
/// `RCU_TEST_PERTURB=0`. See the [module docs](self).
///
/// ```
/// let p = rcu_test_support::perturb::start();
/// assert_eq!(p.is_active(), std::env::var("RCU_TEST_PERTURB").as_deref() != Ok("0"));
/// ```
pub fn start() -> Perturber {
    if std::env::var(ENV).as_deref() == Ok("0") {
        return Perturber { active: false };
    }
    MAX_SLEEP_NS.store(
        env_u64(MAX_SLEEP_ENV, DEFAULT_MAX_SLEEP_US).saturating_mul(1000),
        Relaxed,
    );
    install_handler();
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    shared.users += 1;
    if shared.users == 1 {
        let stop = Arc::new(AtomicBool::new(false));
        shared.stop = Some(Arc::clone(&stop));
        let interval = env_u64(INTERVAL_ENV, DEFAULT_INTERVAL_US);
        shared.thread = Some(
            std::thread::Builder::new()
                .name("rcu-test-perturber".into())
                .spawn(move || perturber_thread(&stop, interval))
                .expect("perturb: cannot spawn the perturber thread"),
        );
    }
    Perturber { active: true }
}

impl Drop for Perturber {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        let thread = {
            let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
            shared.users -= 1;
            if shared.users > 0 {
                return;
            }
            if let Some(stop) = &shared.stop {
                stop.store(true, Relaxed);
            }
            shared.thread.take()
        };
        if let Some(thread) = thread {
            // The thread only loops on the flag; a panic in it would be a bug in this module.
            let _ = thread.join();
        }
    }
}

/// What the perturbation has done so far in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerturbStats {
    /// Signals sent by the perturber thread.
    pub signals_sent: u64,
    /// Pauses the handler made (one per signal delivered).
    pub pauses: u64,
}

/// The perturbation counters.
///
/// ```
/// let s = rcu_test_support::perturb::stats();
/// println!("{} signals sent, {} pauses made", s.signals_sent, s.pauses);
/// ```
pub fn stats() -> PerturbStats {
    PerturbStats {
        signals_sent: SIGNALS_SENT.load(Relaxed),
        pauses: PAUSES.load(Relaxed),
    }
}
