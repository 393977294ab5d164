//! Holding a domain's callback thread inside a callback, so that a test can build a backlog behind
//! it (or prove that a caller does not wait for the thread): [`hold_callback_thread`].
//!
//! It takes the domain's `call_rcu` as a closure, so this crate needs no dependency on `rcu-core`
//! (which dev-depends on it).

use std::sync::mpsc;

/// The callback thread of the domain passed to [`hold_callback_thread`] stays inside a callback
/// until [`release`](Self::release) is called or the value is dropped.
#[derive(Debug)]
#[must_use = "dropping the gate releases the callback thread at once"]
pub struct CallbackGate {
    open: mpsc::Sender<()>,
}

impl CallbackGate {
    /// Lets the held callback return.
    pub fn release(self) {
        // The callback may have returned already (its receiver dropped): nothing to do then.
        let _ = self.open.send(());
    }
}

/// Queues, with `call_rcu`, a callback that blocks until the returned gate is released or dropped,
/// and returns once the callback thread is inside it.
///
/// ```
/// use rcu_test_support::hold_callback_thread;
///
/// // Any `call_rcu` fits; a thread of our own plays the callback thread here.
/// let gate = hold_callback_thread(|f| {
///     std::thread::spawn(f);
/// });
/// gate.release();
/// ```
///
/// # Panics
/// If the callback is dropped without running (the domain went away).
#[track_caller]
pub fn hold_callback_thread(call_rcu: impl FnOnce(Box<dyn FnOnce() + Send>)) -> CallbackGate {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (open, gate) = mpsc::channel::<()>();
    call_rcu(Box::new(move || {
        let _ = entered_tx.send(());
        let _ = gate.recv();
    }));
    entered_rx
        .recv()
        .expect("hold_callback_thread: the holding callback was dropped without running");
    CallbackGate { open }
}
