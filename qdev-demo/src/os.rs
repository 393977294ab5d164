//! The two system calls the scenario's main loop needs, behind safe functions: its poll (QEMU's
//! `qemu_poll_ns`, a `ppoll`) and the calling thread's CPU time (a diagnostic of how much CPU the
//! main loop got on a shared machine).

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
/// qdev_demo::os::poll_timeout(Duration::ZERO);
/// qdev_demo::os::poll_timeout(Duration::from_micros(100));
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
/// let before = qdev_demo::os::thread_cpu_time();
/// qdev_demo::context::spin_for(std::time::Duration::from_millis(2));
/// assert!(qdev_demo::os::thread_cpu_time() > before);
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
