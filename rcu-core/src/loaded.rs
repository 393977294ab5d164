//! [`Loaded`]: a value read from a cell together with the read-side critical section that keeps it
//! alive, so that it can be returned from a function (arc-swap's `Guard`).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::domain::RcuDomain;
use crate::domain::default::DefaultDomain;

/// A reference to a value read under RCU, carrying its own read-side critical section:
/// [`RcuCell::load`](crate::RcuCell::load) and [`RcuArcCell::load`](crate::RcuArcCell::load)
/// return one. It derefs to `&T`, and unlike the `&T` of [`RcuCell::read`](crate::RcuCell::read)
/// it can be returned from a function, because the guard travels with it. arc-swap calls this type
/// `Guard`; crossbeam-epoch's nearest is `Shared` together with its `Guard`.
///
/// The critical section ends when the `Loaded` is dropped: until then the value cannot be
/// reclaimed, even if a writer replaces it meanwhile (the `Loaded` keeps showing the value it
/// read). Two words for the default domain (the pointer and a [`ReadGuard`](crate::ReadGuard));
/// with an independent [`Domain`](crate::Domain) the guard is a
/// [`DomainGuard`](crate::DomainGuard).
///
/// Like every guard it is neither `Send` nor `Sync`, and it holds a read-side critical section:
/// keep it short, never across an `.await` (take [`RcuArcCell::load_full`](crate::RcuArcCell::load_full)
/// there) and never while waiting for a grace period on the same thread.
///
/// # Example: returning a read from a helper
///
/// ```
/// use rcu_core::{Loaded, RcuCell};
///
/// struct Config { name: String, retries: u32 }
/// struct Service { config: RcuCell<Config> }
///
/// impl Service {
///     // `fn current(&self) -> &Config` cannot borrow from a guard that dies in the function;
///     // a `Loaded` carries the guard out with the reference.
///     fn current(&self) -> Loaded<'_, Config> {
///         self.config.load()
///     }
///     // Narrow it to a field with `Loaded::map` (like `std::cell::Ref::map`).
///     fn name(&self) -> Loaded<'_, str> {
///         Loaded::map(self.config.load(), |c| c.name.as_str())
///     }
/// }
///
/// let service = Service { config: RcuCell::new(Config { name: "a".into(), retries: 3 }) };
/// let before = service.current();
/// service.config.replace(Config { name: "b".into(), retries: 5 });
/// assert_eq!(before.retries, 3); // still the value it read, kept alive by its section
/// drop(before);
/// assert_eq!(service.current().retries, 5);
/// assert_eq!(&*service.name(), "b");
/// ```
///
/// It cannot outlive the cell it was loaded from:
///
/// ```compile_fail,E0597
/// let loaded = {
///     let cell = rcu_core::RcuCell::new(1);
///     cell.load()
/// };
/// ```
///
/// and, being a read-side critical section, it cannot be sent to another thread:
///
/// ```compile_fail,E0277
/// let cell = rcu_core::RcuCell::new(1);
/// let loaded = cell.load();
/// std::thread::scope(|s| { s.spawn(move || *loaded); }); // `dyn GuardStaysOnItsThread` cannot be sent
/// ```
#[must_use = "the critical section ends when the `Loaded` is dropped"]
pub struct Loaded<'a, T: ?Sized, D: RcuDomain = DefaultDomain> {
    // Dropped before the guard: the pointer is never used after the section ends.
    value: ValuePtr<T>,
    guard: D::Guard<'a>,
    _value: PhantomData<&'a T>,
}

/// The value's address: a `&T` without the reference's validity claim once the section ends.
/// Sendable like `&T` (`T: Sync`), so that the only reason a `Loaded` is not `Send` is its guard
/// and the compiler's error names [`GuardStaysOnItsThread`](crate::GuardStaysOnItsThread) alone.
struct ValuePtr<T: ?Sized>(NonNull<T>);

// SAFETY: `ValuePtr` is only ever used as a shared reference (`Loaded::deref`), which is `Send` and
// `Sync` exactly when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Send for ValuePtr<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for ValuePtr<T> {}

impl<'a, T: ?Sized + 'a, D: RcuDomain> Loaded<'a, T, D> {
    /// Keeps `guard` together with `value`, read under it.
    ///
    /// # Safety
    /// `value` stays valid for as long as `guard`'s read-side critical section runs, and for no
    /// more than `'a`: it was loaded under that section from memory that `guard`'s domain reclaims
    /// only after a grace period, and the memory's owner (the cell) is borrowed for `'a`.
    pub(crate) unsafe fn new(guard: D::Guard<'a>, value: NonNull<T>) -> Self {
        Loaded {
            value: ValuePtr(value),
            guard,
            _value: PhantomData,
        }
    }

    /// Narrows the reference to a part of the value (a field, a slice element), keeping the same
    /// critical section, like [`std::cell::Ref::map`]. An associated function, so that it does not
    /// shadow a method of `T`.
    ///
    /// ```
    /// let cell = rcu_core::RcuCell::new((String::from("eth0"), 1500u32));
    /// let name: rcu_core::Loaded<'_, str> = rcu_core::Loaded::map(cell.load(), |v| v.0.as_str());
    /// assert_eq!(&*name, "eth0");
    /// ```
    pub fn map<U: ?Sized + 'a>(this: Self, f: impl FnOnce(&T) -> &U) -> Loaded<'a, U, D> {
        let value = ValuePtr(NonNull::from(f(&*this)));
        Loaded {
            value,
            guard: this.guard,
            _value: PhantomData,
        }
    }

    /// The read-side critical section the value is held under: read more RCU-protected data of the
    /// same domain under it (`rcu_read_lock` once for both reads). An associated function, so that
    /// it does not shadow a method of `T`.
    ///
    /// ```
    /// use rcu_core::{Loaded, RcuCell};
    /// let (limit, users) = (RcuCell::new(10), RcuCell::new(vec!["ann"]));
    /// let limit = limit.load();
    /// let users = users.read(Loaded::guard(&limit)); // no second guard
    /// assert!(users.len() <= *limit);
    /// ```
    pub fn guard(this: &Self) -> &D::Guard<'a> {
        &this.guard
    }
}

impl<T: ?Sized, D: RcuDomain> Deref for Loaded<'_, T, D> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: `value` was read under `self.guard`'s critical section of the domain that
        // reclaims it (the contract of `new`, kept by `map`, whose `f` returns a reference no
        // longer-lived than its argument), and that section lasts until `self.guard` drops, which
        // cannot happen while `self` is borrowed.
        unsafe { self.value.0.as_ref() }
    }
}

impl<T: ?Sized + fmt::Debug, D: RcuDomain> fmt::Debug for Loaded<'_, T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display, D: RcuDomain> fmt::Display for Loaded<'_, T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod static_checks {
    use static_assertions::{assert_eq_size, assert_not_impl_any};

    // Two words with the default domain: the value's address and a `ReadGuard`.
    assert_eq_size!(crate::Loaded<'static, u64>, [usize; 2]);
    assert_not_impl_any!(crate::Loaded<'static, u64>: Send, Sync);
    assert_not_impl_any!(crate::Loaded<'static, u64, crate::Domain>: Send, Sync);
}
