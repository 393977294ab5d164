//! [`AliveWord`]: a word embedded in stress-test payloads that says whether the payload may still be
//! read.
//!
//! It holds [`ALIVE`] from construction until the payload is dropped, then [`DEAD`]. A reader that
//! meets any other value read memory that is no longer the payload: with
//! [`PoisonAlloc`](crate::PoisonAlloc) installed, freed memory reads as
//! [`FREED_WORD`]; a negative control's quarantine marks parked payloads
//! [`QUARANTINED`]. Readers in the stress tests call [`PlainAliveWord::check`] on every element
//! they visit (or [`PlainAliveWord::is_alive`] where a negative control counts instead of
//! panicking). [`PlainAliveWord`] is the same word without drop glue, for payloads that must have
//! none: it reads [`DEAD`] only after an explicit [`kill`](PlainAliveWord::kill).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::alloc::{ALLOC_WORD, FREED_WORD};

/// The word of a payload that has not been dropped.
pub const ALIVE: u64 = 0xA11C_E000_A11C_E000;
/// Written when the payload is dropped (by its reclaimer).
pub const DEAD: u64 = 0xDEAD_DEAD_DEAD_DEAD;
/// Written by a negative control's poison hook when it parks a reclaimed payload instead of freeing
/// it (`rcu_queue::testing::enable_broken_grace_periods`).
pub const QUARANTINED: u64 = 0x9015_0000_9015_0000;

/// A word that is [`ALIVE`] from construction to drop. See the [module docs](self). Its methods
/// are [`PlainAliveWord`]'s (through `Deref`); dropping it marks it [`DEAD`].
///
/// ```
/// use rcu_test_support::AliveWord;
/// let w = AliveWord::new();
/// w.check();
/// assert_eq!(w.kill(), rcu_test_support::alive::ALIVE);
/// assert!(!w.is_alive());
/// let msg = std::panic::catch_unwind(|| w.check()).unwrap_err();
/// assert!(msg.downcast_ref::<String>().unwrap().contains("dropped"));
/// ```
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct AliveWord(PlainAliveWord);

impl AliveWord {
    /// A word that is alive.
    pub const fn new() -> Self {
        AliveWord(PlainAliveWord::new())
    }
}

impl std::ops::Deref for AliveWord {
    type Target = PlainAliveWord;

    fn deref(&self) -> &PlainAliveWord {
        &self.0
    }
}

impl Drop for AliveWord {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An alive word without drop glue, for payloads that must have none (a container may free those
/// without running any code of theirs, as rcu-queue's lists and map do through `defer_free`): it
/// leaves [`ALIVE`] only when its memory is freed (it then reads as
/// [`FREED_WORD`] under [`PoisonAlloc`](crate::PoisonAlloc)), by the quarantine's
/// [`quarantine`](Self::quarantine), or by an explicit [`kill`](Self::kill).
///
/// ```
/// use rcu_test_support::alive::{PlainAliveWord, QUARANTINED};
/// assert!(!std::mem::needs_drop::<PlainAliveWord>());
/// let w = PlainAliveWord::new();
/// w.check();
/// w.quarantine();
/// assert_eq!(w.word(), QUARANTINED);
/// let msg = std::panic::catch_unwind(|| w.check()).unwrap_err();
/// assert!(msg.downcast_ref::<String>().unwrap().contains("quarantine"));
/// ```
#[derive(Debug)]
#[repr(transparent)]
pub struct PlainAliveWord(AtomicU64);

impl Default for PlainAliveWord {
    fn default() -> Self {
        Self::new()
    }
}

impl PlainAliveWord {
    /// A word that is alive.
    pub const fn new() -> Self {
        PlainAliveWord(AtomicU64::new(ALIVE))
    }

    /// The raw word.
    pub fn word(&self) -> u64 {
        self.0.load(Relaxed)
    }

    /// Whether the payload is alive.
    pub fn is_alive(&self) -> bool {
        self.word() == ALIVE
    }

    /// Panics unless the payload is alive, with a message that says what was read instead.
    #[track_caller]
    pub fn check(&self) {
        let word = self.word();
        if word != ALIVE {
            panic!(
                "a reader met a payload that is not alive: alive word {word:#018x}, {}",
                describe(word)
            );
        }
    }

    /// Marks the payload dead and returns the previous word (a reclaimer that gets [`DEAD`] back
    /// dropped the payload twice). [`AliveWord`]'s `Drop` does the same.
    pub fn kill(&self) -> u64 {
        self.0.swap(DEAD, Relaxed)
    }

    /// Marks the payload [`QUARANTINED`] (a negative control's poison hook).
    pub fn quarantine(&self) {
        self.0.store(QUARANTINED, Relaxed);
    }
}

/// What an alive word's value means.
///
/// ```
/// use rcu_test_support::alive::{describe, ALIVE};
/// assert_eq!(describe(ALIVE), "alive");
/// assert!(describe(rcu_test_support::alloc::FREED_WORD).contains("freed"));
/// ```
pub fn describe(word: u64) -> &'static str {
    match word {
        ALIVE => "alive",
        DEAD => "dropped: it was reclaimed while the reader could still reach it",
        QUARANTINED => {
            "parked by the broken-grace-period quarantine: it was reclaimed while the reader \
             could still reach it"
        }
        FREED_WORD => {
            "freed memory (poisoned by PoisonAlloc): the reader reached a block after it was freed"
        }
        ALLOC_WORD => {
            "never-initialised memory (PoisonAlloc's allocation fill): a pointer to a block whose \
             payload was not written yet"
        }
        _ => "neither alive nor any known poison: the reader read memory that is not the payload",
    }
}
