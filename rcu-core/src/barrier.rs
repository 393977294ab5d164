//! The asymmetric memory barrier pair: [`light`] on the read side, [`heavy`] on the grace-period side.
//!
//! The contract is the one of liburcu's `cmm_smp_mb_slave()` / `smp_mb_master()` and QEMU's
//! `smp_mb_placeholder()` / `smp_mb_global()`: for any `light()` executed by a reader and any
//! `heavy()` executed by a writer, either everything before the `light()` is visible after the
//! `heavy()`, or everything before the `heavy()` is visible after the `light()` (they act like two
//! `SeqCst` fences).
//!
//! Two implementations, chosen once per process at start-up:
//! - **membarrier** (Linux 4.14+): `light()` is only a compiler fence, so the read side has no
//!   fence instruction at all; `heavy()` is `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which
//!   runs a full barrier on every CPU currently running one of our threads.
//! - **fallback** (older kernels, seccomp sandboxes, tools that do not emulate membarrier, or
//!   `RCU_CORE_FORCE_FALLBACK=1` in the environment at start-up): a `SeqCst` fence on both sides.
//!
//! Under loom both are `SeqCst` fences: loom models the fallback, which has the same contract.

use crate::sync::{Ordering, fence};

#[cfg(not(loom))]
use std::sync::atomic::{AtomicU8, compiler_fence};

/// Environment variable that forces the fence fallback when set to anything but `0` or empty.
pub const FORCE_FALLBACK_ENV: &str = "RCU_CORE_FORCE_FALLBACK";

#[cfg(not(loom))]
const MODE_FENCE: u8 = 0;
#[cfg(not(loom))]
const MODE_MEMBARRIER: u8 = 1;

/// The barrier mode. Starts as the fence fallback, which is always correct; [`init`] may switch it to
/// membarrier before the first reader registers (see [`init`] for why that is race-free).
#[cfg(not(loom))]
static MODE: AtomicU8 = AtomicU8::new(MODE_FENCE);

/// Chooses the barrier implementation, once per process. Called before any thread registers as a
/// reader (registration calls it), so no reader ever runs a compiler-only `light()` while a writer
/// could still choose fences: writers read the mode after taking the registry lock, which the
/// registering reader took after this function returned.
#[cfg(not(loom))]
pub(crate) fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if use_membarrier() {
            MODE.store(MODE_MEMBARRIER, Ordering::Relaxed);
        }
    });
}

#[cfg(not(loom))]
fn use_membarrier() -> bool {
    let forced = std::env::var_os(FORCE_FALLBACK_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    #[cfg(target_os = "linux")]
    {
        !forced && crate::sys::membarrier_register()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = forced;
        false
    }
}

/// Re-registers for membarrier in a child process after `fork()` (registration belongs to the address
/// space); falls back to fences if that fails. The child has a single thread, so switching is safe.
#[cfg(all(not(loom), target_os = "linux"))]
pub(crate) fn after_fork_child() {
    if uses_membarrier() && !crate::sys::membarrier_register() {
        MODE.store(MODE_FENCE, Ordering::Relaxed);
    }
}

/// Whether the process uses membarrier (`true`) or the fence fallback (`false`).
pub(crate) fn uses_membarrier() -> bool {
    #[cfg(loom)]
    {
        false
    }
    #[cfg(not(loom))]
    {
        MODE.load(Ordering::Relaxed) == MODE_MEMBARRIER
    }
}

/// Read-side half of the barrier pair (`smp_mb_placeholder`).
#[inline(always)]
pub(crate) fn light() {
    #[cfg(loom)]
    fence(Ordering::SeqCst);
    #[cfg(not(loom))]
    if MODE.load(Ordering::Relaxed) == MODE_MEMBARRIER {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// Writer-side half of the barrier pair (`smp_mb_global`).
pub(crate) fn heavy() {
    #[cfg(all(not(loom), target_os = "linux"))]
    if MODE.load(Ordering::Relaxed) == MODE_MEMBARRIER {
        crate::sys::membarrier_private_expedited();
        return;
    }
    fence(Ordering::SeqCst);
}
