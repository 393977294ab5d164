//! Thin wrappers over the two Linux system calls the algorithm uses: `membarrier(2)` and `futex(2)`.
//!
//! Nothing here decides policy; [`crate::barrier`] chooses between membarrier and fences, and
//! [`crate::sync::FutexWord`] builds sleeping on top of the futex.

#![cfg(all(target_os = "linux", not(loom)))]

use std::sync::atomic::AtomicU32;
use std::time::Duration;

const MEMBARRIER_CMD_QUERY: libc::c_int = 0;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

fn membarrier(cmd: libc::c_int) -> libc::c_long {
    // SAFETY: membarrier takes (cmd, flags, cpu_id) integers and touches no user memory.
    unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            cmd,
            0 as libc::c_uint,
            0 as libc::c_int,
        )
    }
}

/// Queries `MEMBARRIER_CMD_PRIVATE_EXPEDITED` support and registers the process for it.
/// Returns `false` (use the fence fallback) when the kernel, a seccomp filter or an emulator says no.
pub(crate) fn membarrier_register() -> bool {
    let mask = membarrier(MEMBARRIER_CMD_QUERY);
    if mask < 0 || mask & libc::c_long::from(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0 {
        return false;
    }
    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
}

/// Issues a full memory barrier on every CPU currently running a thread of this process, and on the
/// calling thread. Requires a successful [`membarrier_register`].
pub(crate) fn membarrier_private_expedited() {
    let ret = membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    assert!(
        ret == 0,
        "rcu-core: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed ({}) after a successful \
         registration; this is a kernel or sandbox bug (set RCU_CORE_FORCE_FALLBACK=1 to avoid membarrier)",
        std::io::Error::last_os_error()
    );
}

/// Sleeps while `*word == expected`, at most `timeout`. Spurious returns are allowed.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, aligned 32-bit atomic for the whole call; `ts_ptr` is null or points
    // to a timespec on this stack frame. FUTEX_WAIT only reads them. EINTR, EAGAIN and ETIMEDOUT are
    // all fine for callers, which re-check their condition.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            ts_ptr,
        );
    }
}

/// Wakes every thread sleeping on `word`.
pub(crate) fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it reads no memory through it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        );
    }
}
