//! Test-only helpers that make the workspace's stress and torture tests catch memory-safety bugs that
//! would otherwise pass silently. Never a run-time dependency: `rcu-core`, `rcu-queue` and
//! `qdev-demo` take it as a path-only dev-dependency (which `cargo package` strips), and it is not
//! published.
//!
//! Three tools, each aimed at one reason a use-after-free goes unnoticed:
//!
//! * [`PoisonAlloc`] (module [`alloc`]): a global allocator that fills every freed block with a
//!   poison byte and keeps it out of circulation for the rest of the run (a FIFO quarantine, 1 GiB
//!   by default), so a reader of freed memory sees poison instead of a recycled, plausible-looking
//!   object. Installed with `#[global_allocator]` in every stress and torture test binary and stress
//!   example of the workspace.
//! * [`AliveWord`] (module [`alive`]): a word that stress payloads embed; alive from construction to
//!   drop, and its `check` panics with a message that says what the reader met instead (a dropped
//!   value, poisoned freed memory, a value parked by a negative control). Readers call it on every
//!   element they visit. [`alive::PlainAliveWord`] is the same word without drop glue.
//! * [`perturb`]: a thread that sends `SIGURG` to the process's threads at random short intervals;
//!   the handler pauses the interrupted thread (spin, `sched_yield` or a short sleep), which widens
//!   race windows anywhere in the code, the libraries included, without any hook in them.
//!
//! Beside them, [`fork`] (Unix) runs a check in a forked child and reads back its exit status,
//! killing a child that hangs: what every fork test of the workspace uses; [`block_on()`] runs a
//! future where no runtime exists (such a child); [`hold_callback_thread`] holds a domain's callback
//! thread inside a callback while a test builds a backlog behind it; [`rerun::failing_child`]
//! re-runs a test in a child process that must fail (the loom negative controls that abort). And [`module_graph`]
//! reads a crate's `src/` and gives the graph of which module imports which: the
//! `tests/module_graph.rs` of rcu-core, rcu-queue and qdev-demo assert with it that their modules
//! form no import cycle and import down their layers only.
//!
//! # How CI uses it
//!
//! * `cargo test --workspace` (a debug build) runs the stress and torture tests with the allocator
//!   installed and the perturber on; `.ci/stress-debug.sh` also runs the stress examples as debug
//!   builds, perturbed.
//! * `.ci/asan.sh` builds the same binaries with `-Zsanitizer=address` (nightly) and runs them with
//!   `RCU_TEST_QUARANTINE_BYTES=0`: every block is poisoned and then really freed, so
//!   AddressSanitizer sees the frees and reports any later access.
//! * The valgrind runs set `RCU_TEST_ALLOC=system` (the allocator forwards to the system allocator
//!   untouched, so memcheck's leak check sees the program's own blocks) and `RCU_TEST_PERTURB=0`.
//!
//! # Environment
//!
//! | Variable | Effect |
//! |---|---|
//! | `RCU_TEST_QUARANTINE_BYTES` | quarantine budget in bytes (default 1 GiB); `0` frees every poisoned block at once |
//! | `RCU_TEST_ALLOC=system` | the allocator forwards to the system allocator (no poison, no quarantine) |
//! | `RCU_TEST_PERTURB=0` | [`perturb::start`] starts nothing |
//! | `RCU_TEST_PERTURB_INTERVAL_US` | mean time between two signals (default 200 µs) |
//! | `RCU_TEST_PERTURB_MAX_SLEEP_US` | longest pause of a sleeping handler (default 2000 µs) |
//!
//! # Example
//!
//! ```
//! use rcu_test_support::{AliveWord, PoisonAlloc};
//!
//! #[global_allocator]
//! static ALLOC: PoisonAlloc = PoisonAlloc::new();
//!
//! struct Payload {
//!     alive: AliveWord,
//!     value: u64,
//! }
//!
//! let _perturb = rcu_test_support::perturb::start();
//! let p = Box::new(Payload { alive: AliveWord::new(), value: 7 });
//! p.alive.check(); // what a stress reader does on every element it visits
//! assert_eq!(p.value, 7);
//! drop(p);
//! assert!(rcu_test_support::alloc::stats().freed_bytes > 0);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod alive;
pub mod alloc;
pub mod block_on;
#[cfg(unix)]
pub mod fork;
pub mod hold;
pub mod module_graph;
pub mod perturb;
pub mod rerun;

pub use alive::AliveWord;
pub use alloc::PoisonAlloc;
pub use block_on::block_on;
pub use hold::{CallbackGate, hold_callback_thread};
