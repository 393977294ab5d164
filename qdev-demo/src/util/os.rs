//! The operating-system calls the scenario's main loop needs, behind safe functions: its poll
//! (QEMU's `qemu_poll_ns`, a `ppoll`), the calling thread's CPU time, and the time it spent
//! waiting for a CPU (diagnostics of how much CPU the main loop got on a shared machine).

#![allow(unsafe_code)]

use std::time::Duration;

/// Polls no file descriptors for up to `timeout`, like QEMU's `main_loop_wait` when nothing but
/// timers is pending: `ppoll(NULL, 0, &timeout, NULL)`. With a zero timeout it is a system call
/// that returns at once and, unlike `sched_yield`, does not offer the CPU to other threads (the
/// kernel may still preempt the caller on the way back, as it may QEMU's main loop). Returns early
/// on a signal.
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// qdev_demo::util::os::poll_timeout(Duration::ZERO);
/// qdev_demo::util::os::poll_timeout(Duration::from_micros(100));
/// assert!(t.elapsed() < Duration::from_secs(5));
/// ```
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn poll_timeout(timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10^9: fits a 32-bit c_long too.
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: with nfds 0 ppoll reads no pollfd, so the null `fds` pointer is never dereferenced;
    // `ts` is a valid timespec that outlives the call; a null sigmask keeps the current mask.
    // The result is ignored on purpose: 0 (timeout) and -1/EINTR (signal) both end the poll.
    let _ = unsafe { libc::ppoll(std::ptr::null_mut(), 0, &ts, std::ptr::null()) };
}

/// Portable fallback: sleeps for `timeout` (no system call for a zero timeout).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn poll_timeout(timeout: Duration) {
    std::thread::sleep(timeout);
}

/// CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`); zero if the clock
/// is not available.
///
/// ```
/// let before = qdev_demo::util::os::thread_cpu_time();
/// qdev_demo::qdev::context::spin_for(std::time::Duration::from_millis(2));
/// assert!(qdev_demo::util::os::thread_cpu_time() > before);
/// ```
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Reads how long the calling thread has been runnable but waiting for a CPU (on a run queue):
/// the second field of Linux's `/proc/thread-self/schedstat` (`run_delay`), through a file kept
/// open so that each reading is one `pread`. It reports `None` where the kernel does not provide
/// it (another OS, or a kernel without `CONFIG_SCHED_INFO`).
///
/// On a machine with fewer cores than runnable threads this is where a thread's wall time goes
/// when it is neither running nor sleeping by choice; the scenario subtracts it from the main
/// loop's BQL-released time to judge the main loop by what it did while it could run.
///
/// A reader belongs to the thread that created it (the file names that thread).
///
/// ```
/// let mut clock = qdev_demo::util::os::RunDelayClock::new();
/// if let Some(waited) = clock.read() {
///     assert!(waited < std::time::Duration::from_secs(3600));
/// }
/// ```
#[derive(Debug)]
pub struct RunDelayClock {
    file: Option<std::fs::File>,
    buf: [u8; 96],
}

impl RunDelayClock {
    /// Opens the calling thread's schedstat file (no error if it is missing: readings are `None`).
    pub fn new() -> Self {
        Self {
            file: std::fs::File::open("/proc/thread-self/schedstat").ok(),
            buf: [0; 96],
        }
    }

    /// The calling thread's total run-queue wait so far, or `None` if it is not available.
    pub fn read(&mut self) -> Option<Duration> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            let n = self.file.as_ref()?.read_at(&mut self.buf, 0).ok()?;
            let text = std::str::from_utf8(&self.buf[..n]).ok()?;
            let ns: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
            Some(Duration::from_nanos(ns))
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

impl Default for RunDelayClock {
    fn default() -> Self {
        Self::new()
    }
}
