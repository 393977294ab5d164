//! The check behind `async_gp.rs`'s "waits for a pre-existing reader" tests, shared with its
//! negative control (`async_negative_control.rs`, grace periods switched off).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

use super::reader::HeldReader;

/// With a reader parked inside its section, creates a `synchronize_rcu_async` future and watches it
/// for `window`; then releases the reader and awaits the future. Returns whether the future
/// completed while the reader was still inside (which working grace periods never allow, whatever
/// the timing: the window only bounds how long we look).
pub fn completed_while_reader_inside(rt: &tokio::runtime::Runtime, window: Duration) -> bool {
    rt.block_on(async {
        let held = HeldReader::enter("async-held-reader");
        let mut fut = rcu_core::synchronize_rcu_async();
        let first = Pin::new(&mut fut).poll(&mut Context::from_waker(Waker::noop()));
        let early = first.is_ready() || tokio::time::timeout(window, &mut fut).await.is_ok();
        let left = tokio::task::spawn_blocking(move || held.leave());
        fut.await;
        left.await.unwrap();
        early
    })
}
