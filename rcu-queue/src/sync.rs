//! The one place that names the atomics: `std` normally, `loom` under `--cfg loom`.
//!
//! Every pointer a reader follows is an [`AtomicPtr`] from here, so the loom models in `tests/loom.rs`
//! exercise exactly the loads and stores of the real code.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, Ordering};

/// Declares a constructor that is `const` with std atomics and a plain `fn` under loom (whose atomics
/// cannot be built in a constant context).
macro_rules! loom_const_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident() -> Self $body:block) => {
        #[cfg(not(loom))]
        $(#[$meta])*
        $vis const fn $name() -> Self $body
        #[cfg(loom)]
        $(#[$meta])*
        $vis fn $name() -> Self $body
    };
}
pub(crate) use loom_const_fn;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicUsize;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU16;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU16;
