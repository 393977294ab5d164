//! [`block_on`]: runs a future to completion on the calling thread, parking between polls. For tests
//! that await rcu-core's futures where no runtime exists (a `fork()` child, a plain thread).
//!
//! ```
//! assert_eq!(rcu_test_support::block_on(async { 6 * 7 }), 42);
//! ```

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes the parked thread that polls.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread until it is ready; between polls the thread parks until the
/// future's waker unparks it.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        thread::park();
    }
}
