//! [`PoisonAlloc`]: a test-only global allocator that poisons freed blocks and quarantines them.
//!
//! A use-after-free in a stress test usually goes unnoticed with the system allocator: the freed
//! block still holds the old value, or has already been handed out again and holds a plausible new
//! one. This allocator makes such a read visible:
//!
//! * every allocation is filled with [`ALLOC_BYTE`] (`0xA5`), so nothing relies on recycled
//!   contents;
//! * every freed block is filled with [`FREED_BYTE`] (`0xDE`) and put at the tail of a FIFO
//!   quarantine instead of being returned to the system: it is not reused for the rest of the run,
//!   and any pointer or length read from it is `0xDEDE_DEDE_DEDE_DEDE`, a non-canonical address on
//!   x86-64 (a dereference faults) and a length no real object has. An
//!   [`AliveWord`](crate::AliveWord) read from it reports "freed memory";
//! * the quarantine has a byte budget ([`DEFAULT_QUARANTINE_BYTES`], 1 GiB, set with
//!   `RCU_TEST_QUARANTINE_BYTES`): once the quarantined blocks (with their headers) exceed it, the
//!   oldest are really freed, after a check that their poison is intact (a write after free aborts
//!   the process with a message). The tests of this workspace free far less than the budget per run,
//!   so in practice nothing is ever reused;
//! * `RCU_TEST_QUARANTINE_BYTES=0` poisons each block and frees it at once: under AddressSanitizer
//!   (`.ci/asan.sh`) the sanitizer then sees every real free and reports later accesses itself;
//! * `RCU_TEST_ALLOC=system` forwards everything to the system allocator untouched (valgrind's leak
//!   check then sees the program's own blocks, not blocks behind this allocator's headers).
//!
//! Each block carries a 32-byte header in front of it (state, size, alignment, quarantine link), so
//! a double free or a free with the wrong layout aborts with a message. The mode and the budget are
//! read from the environment (with `getenv`, which does not allocate) at the first allocation and do
//! not change afterwards. The quarantine's lock is taken around `fork` (`pthread_atfork`), so a child
//! can allocate.
//!
//! # Example
//!
//! ```
//! use rcu_test_support::alloc::{self, PoisonAlloc};
//!
//! #[global_allocator]
//! static ALLOC: PoisonAlloc = PoisonAlloc::new();
//!
//! let before = alloc::stats();
//! drop(vec![1u8; 4096]);
//! let after = alloc::stats();
//! assert!(after.freed_bytes >= before.freed_bytes + 4096);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

/// Every byte of a fresh allocation (`alloc`, `realloc`'s new block; not `alloc_zeroed`).
pub const ALLOC_BYTE: u8 = 0xA5;
/// Every byte of a freed block while it sits in the quarantine.
pub const FREED_BYTE: u8 = 0xDE;
/// A 64-bit word read from a freed block.
pub const FREED_WORD: u64 = u64::from_ne_bytes([FREED_BYTE; 8]);
/// A 64-bit word read from an allocated block that was never written.
pub const ALLOC_WORD: u64 = u64::from_ne_bytes([ALLOC_BYTE; 8]);
/// The default quarantine budget (1 GiB).
pub const DEFAULT_QUARANTINE_BYTES: u64 = 1 << 30;
/// Environment variable: the quarantine budget in bytes (decimal); `0` frees poisoned blocks at once.
pub const QUARANTINE_ENV: &str = "RCU_TEST_QUARANTINE_BYTES";
/// Environment variable: `system` makes [`PoisonAlloc`] forward to the system allocator.
pub const ALLOC_ENV: &str = "RCU_TEST_ALLOC";

/// The header in front of every block handed out in poison mode.
#[repr(C)]
struct Header {
    state: u64,
    size: usize,
    align: usize,
    /// The next (younger) block in the quarantine.
    next: *mut Header,
}

const HEADER: usize = size_of::<Header>();
const LIVE: u64 = 0x4C49_5645_0B10_C4ED;
const QUARANTINED: u64 = 0x0DEA_D0B1_0C4E_D000;

const MODE_UNSET: u8 = 0;
const MODE_POISON: u8 = 1;
const MODE_SYSTEM: u8 = 2;

/// Set once, at the first allocation; `BUDGET` is written before it (release/acquire pair).
static MODE: AtomicU8 = AtomicU8::new(MODE_UNSET);
static BUDGET: AtomicU64 = AtomicU64::new(DEFAULT_QUARANTINE_BYTES);
static ATFORK_REGISTERED: AtomicBool = AtomicBool::new(false);

static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);
static QUARANTINED_BYTES: AtomicU64 = AtomicU64::new(0);
static RELEASED: AtomicU64 = AtomicU64::new(0);

/// The FIFO of quarantined blocks, oldest at `head`.
struct Quarantine {
    head: *mut Header,
    tail: *mut Header,
    /// Bytes held, headers and padding included.
    bytes: u64,
}

struct QuarantineCell(UnsafeCell<Quarantine>);

// SAFETY: the quarantine is only accessed with `LOCK` held (see `with_quarantine`).
unsafe impl Sync for QuarantineCell {}

static LOCK: AtomicBool = AtomicBool::new(false);
static QUARANTINE: QuarantineCell = QuarantineCell(UnsafeCell::new(Quarantine {
    head: ptr::null_mut(),
    tail: ptr::null_mut(),
    bytes: 0,
}));

/// A spin lock that yields: no allocation, usable from the allocator and from the fork handlers.
fn lock() {
    while LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
}

fn unlock() {
    // Release: pairs with the Acquire in `lock`, publishing the quarantine's updates.
    LOCK.store(false, Ordering::Release);
}

fn with_quarantine<R>(f: impl FnOnce(&mut Quarantine) -> R) -> R {
    lock();
    // SAFETY: `LOCK` is held until `unlock` below, so this is the only reference to the quarantine.
    let r = f(unsafe { &mut *QUARANTINE.0.get() });
    unlock();
    r
}

extern "C" fn atfork_prepare() {
    lock();
}

extern "C" fn atfork_release() {
    unlock();
}

/// Writes `msg` and `n` to stderr and aborts: the allocator cannot unwind or allocate.
fn fatal(msg: &str, n: usize) -> ! {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for part in [
        b"rcu-test-support PoisonAlloc: ".as_slice(),
        msg.as_bytes(),
        b" (size ",
        &digits[i..],
        b")\n",
    ] {
        // SAFETY: `part` is a valid buffer of `part.len()` bytes; a short or failed write only
        // shortens the message.
        unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
    }
    std::process::abort()
}

fn env_bytes(name: &std::ffi::CStr) -> Option<&'static [u8]> {
    // SAFETY: `name` is NUL-terminated; getenv does not allocate, and the tests do not call
    // `setenv` while the first allocation runs (at start-up).
    let value = unsafe { libc::getenv(name.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: getenv returned a NUL-terminated string that lives as long as the environment entry,
    // which nothing in the tests removes.
    Some(unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes())
}

fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

#[cold]
fn init_mode() -> u8 {
    let mode = if env_bytes(c"RCU_TEST_ALLOC") == Some(b"system") {
        MODE_SYSTEM
    } else {
        MODE_POISON
    };
    let budget = match env_bytes(c"RCU_TEST_QUARANTINE_BYTES") {
        None => DEFAULT_QUARANTINE_BYTES,
        Some(s) => parse_decimal(s)
            .unwrap_or_else(|| fatal("RCU_TEST_QUARANTINE_BYTES is not a decimal number", 0)),
    };
    BUDGET.store(budget, Ordering::Relaxed);
    // Release: pairs with the Acquire in `mode`, so a thread that sees the mode sees the budget.
    MODE.store(mode, Ordering::Release);
    if mode == MODE_POISON && !ATFORK_REGISTERED.swap(true, Ordering::Relaxed) {
        // May allocate: MODE is already set, so the nested call does not come back here.
        // SAFETY: the handlers are plain functions that only take and release the spin lock.
        unsafe {
            libc::pthread_atfork(
                Some(atfork_prepare),
                Some(atfork_release),
                Some(atfork_release),
            )
        };
    }
    mode
}

#[inline]
fn mode() -> u8 {
    // Acquire: pairs with the Release store in `init_mode`.
    match MODE.load(Ordering::Acquire) {
        MODE_UNSET => init_mode(),
        mode => mode,
    }
}

/// The system layout that holds a header and `layout`, and the offset of the user block in it.
fn outer(layout: Layout) -> Option<(Layout, usize)> {
    // A multiple of the alignment (both are powers of two) that leaves room for the header.
    let pad = layout.align().max(HEADER);
    let outer = Layout::from_size_align(
        layout.size().checked_add(pad)?,
        layout.align().max(align_of::<Header>()),
    )
    .ok()?;
    Some((outer, pad))
}

/// The header of a block handed out in poison mode.
///
/// # Safety
///
/// `user` was returned by [`PoisonAlloc`] in poison mode.
unsafe fn header_of(user: *mut u8) -> *mut Header {
    // SAFETY: per the contract the header lies `HEADER` bytes before `user`, in the same allocation.
    unsafe { user.sub(HEADER).cast() }
}

/// Returns a quarantined block to the system.
///
/// # Safety
///
/// `h` is the header of a quarantined block that is no longer linked in the quarantine.
unsafe fn release(h: *mut Header, verify: bool) {
    // SAFETY: the header and block stay allocated until the `System.dealloc` below (contract).
    unsafe {
        let (size, align) = ((*h).size, (*h).align);
        let user = h.cast::<u8>().add(HEADER);
        if verify {
            let block = std::slice::from_raw_parts(user, size);
            if let Some(offset) = block.iter().position(|&b| b != FREED_BYTE) {
                fatal(
                    "a freed block was written after it was freed; first changed byte at this offset",
                    offset,
                );
            }
        }
        let layout = Layout::from_size_align_unchecked(size, align);
        let (outer, pad) = outer(layout).unwrap_or_else(|| fatal("corrupted block header", size));
        RELEASED.fetch_add(size as u64, Ordering::Relaxed);
        System.dealloc(user.sub(pad), outer);
    }
}

/// What [`PoisonAlloc`] has done so far in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Bytes handed out (the callers' sizes, headers not included), over the whole run.
    pub allocated_bytes: u64,
    /// Bytes freed by the program (poisoned), over the whole run.
    pub freed_bytes: u64,
    /// Bytes in the quarantine now, headers and padding included.
    pub quarantined_bytes: u64,
    /// Bytes really returned to the system (quarantine overflow, or a zero budget).
    pub released_bytes: u64,
    /// Whether the allocator poisons (false with `RCU_TEST_ALLOC=system` or before any allocation).
    pub poisoning: bool,
}

/// The allocator's counters (all zero in `system` mode).
///
/// ```
/// let s = rcu_test_support::alloc::stats();
/// assert!(s.released_bytes <= s.freed_bytes);
/// ```
pub fn stats() -> AllocStats {
    AllocStats {
        allocated_bytes: ALLOCATED.load(Ordering::Relaxed),
        freed_bytes: FREED.load(Ordering::Relaxed),
        quarantined_bytes: QUARANTINED_BYTES.load(Ordering::Relaxed),
        released_bytes: RELEASED.load(Ordering::Relaxed),
        poisoning: MODE.load(Ordering::Relaxed) == MODE_POISON,
    }
}

/// The poisoning, quarantining global allocator (see the [module docs](self)). Test binaries
/// only.
///
/// ```
/// #[global_allocator]
/// static ALLOC: rcu_test_support::PoisonAlloc = rcu_test_support::PoisonAlloc::new();
/// ```
#[derive(Debug, Default)]
pub struct PoisonAlloc {
    _private: (),
}

impl PoisonAlloc {
    /// The allocator, for a `#[global_allocator]` static.
    pub const fn new() -> Self {
        PoisonAlloc { _private: () }
    }

    /// Allocates through the system allocator and writes the header; `zeroed` asks for zeroes
    /// instead of [`ALLOC_BYTE`].
    ///
    /// # Safety
    ///
    /// `layout` has a non-zero size (the `GlobalAlloc::alloc` contract).
    unsafe fn alloc_poisoned(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        let Some((outer, pad)) = outer(layout) else {
            return ptr::null_mut();
        };
        // SAFETY: `outer` has a non-zero size (it includes the header).
        let base = unsafe {
            if zeroed {
                System.alloc_zeroed(outer)
            } else {
                System.alloc(outer)
            }
        };
        if base.is_null() {
            return base;
        }
        // SAFETY: `base` holds `pad + size` bytes; the header fits in the `pad >= HEADER` bytes in
        // front of the user block and is aligned (`user` is aligned to at least 8).
        unsafe {
            let user = base.add(pad);
            header_of(user).write(Header {
                state: LIVE,
                size: layout.size(),
                align: layout.align(),
                next: ptr::null_mut(),
            });
            if !zeroed {
                ptr::write_bytes(user, ALLOC_BYTE, layout.size());
            }
            ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
            user
        }
    }
}

// SAFETY: in system mode every call is forwarded to `System`. In poison mode each block comes from
// `System` with room for a header in front, is aligned as asked (`outer`), and is returned to
// `System` exactly once (`release`), with the layout it was allocated with, after the program freed
// it; the header catches double frees and mismatched layouts. The mode never changes once set.
unsafe impl GlobalAlloc for PoisonAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mode() == MODE_SYSTEM {
            // SAFETY: forwarded with the caller's contract.
            return unsafe { System.alloc(layout) };
        }
        // SAFETY: the caller's contract (non-zero size).
        unsafe { self.alloc_poisoned(layout, false) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mode() == MODE_SYSTEM {
            // SAFETY: forwarded with the caller's contract.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: the caller's contract (non-zero size).
        unsafe { self.alloc_poisoned(layout, true) }
    }

    unsafe fn dealloc(&self, user: *mut u8, layout: Layout) {
        if mode() == MODE_SYSTEM {
            // SAFETY: forwarded with the caller's contract (the block came from `System` too, as
            // the mode never changes).
            return unsafe { System.dealloc(user, layout) };
        }
        // SAFETY: the caller's contract: `user` came from this allocator (in poison mode, as the
        // mode never changes) with `layout`, and is freed once; the header precedes it.
        unsafe {
            let h = header_of(user);
            match (*h).state {
                LIVE => {}
                QUARANTINED => fatal("double free", layout.size()),
                _ => fatal(
                    "free of a block whose header is corrupted (or not from this allocator)",
                    layout.size(),
                ),
            }
            if (*h).size != layout.size() || (*h).align != layout.align() {
                fatal(
                    "free with a layout that differs from the allocation's",
                    layout.size(),
                );
            }
            ptr::write_bytes(user, FREED_BYTE, layout.size());
            (*h).state = QUARANTINED;
        }
        FREED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        let budget = BUDGET.load(Ordering::Relaxed);
        // SAFETY: as above.
        let h = unsafe { header_of(user) };
        if budget == 0 {
            // SAFETY: the block was never linked in the quarantine; its poison was just written.
            unsafe { release(h, false) };
            return;
        }
        let footprint = outer(layout).map_or(0, |(o, _)| o.size() as u64);
        // Link the block at the tail; unlink the oldest ones while over budget, into a local chain
        // freed after the lock is released.
        let evicted = with_quarantine(|q| {
            if q.tail.is_null() {
                q.head = h;
            } else {
                // SAFETY: `tail` is a quarantined block, still allocated, linked only here.
                unsafe { (*q.tail).next = h };
            }
            q.tail = h;
            q.bytes += footprint;
            let first = q.head;
            let mut last: *mut Header = ptr::null_mut();
            while q.bytes > budget && !q.head.is_null() {
                last = q.head;
                // SAFETY: `head` is a quarantined block, still allocated.
                let (next, size, align) = unsafe { ((*last).next, (*last).size, (*last).align) };
                // SAFETY: `size` and `align` were a valid layout when the block was allocated.
                let bytes = outer(unsafe { Layout::from_size_align_unchecked(size, align) })
                    .map_or(0, |(o, _)| o.size() as u64);
                q.bytes -= bytes;
                q.head = next;
            }
            if q.head.is_null() {
                q.tail = ptr::null_mut();
            }
            QUARANTINED_BYTES.store(q.bytes, Ordering::Relaxed);
            if last.is_null() {
                None
            } else {
                // SAFETY: `last` is the last evicted block; cut the chain after it.
                unsafe { (*last).next = ptr::null_mut() };
                Some(first)
            }
        });
        let mut next = evicted.unwrap_or(ptr::null_mut());
        while !next.is_null() {
            let h = next;
            // SAFETY: the evicted chain is unlinked from the quarantine and owned by this call.
            unsafe {
                next = (*h).next;
                release(h, true);
            }
        }
    }

    unsafe fn realloc(&self, user: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if mode() == MODE_SYSTEM {
            // SAFETY: forwarded with the caller's contract.
            return unsafe { System.realloc(user, layout, new_size) };
        }
        // Always move, so that a stale pointer into the old block reads poison.
        // SAFETY: the caller guarantees that `new_size`, rounded up to the alignment, does not
        // overflow, so this is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_size` is non-zero (the caller's contract).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not overlap; `user` is
            // freed once, with its layout.
            unsafe {
                ptr::copy_nonoverlapping(user, new, layout.size().min(new_size));
                self.dealloc(user, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_budgets() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"1073741824"), Some(1 << 30));
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"1G"), None);
        assert_eq!(parse_decimal(b"99999999999999999999999"), None);
    }

    #[test]
    fn outer_layout_keeps_alignment() {
        for align in [1, 8, 16, 64, 4096] {
            let layout = Layout::from_size_align(24, align).unwrap();
            let (outer, pad) = outer(layout).unwrap();
            assert_eq!(pad % align, 0);
            assert!(pad >= HEADER);
            assert!(outer.align() >= align);
            assert_eq!(outer.size(), 24 + pad);
        }
    }
}
