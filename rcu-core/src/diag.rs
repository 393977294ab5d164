//! Diagnostics that never panic: rcu-core's messages to standard error.
//!
//! `eprintln!` panics when standard error cannot be written (a closed pipe, a full disk), and a
//! panic in the callback thread or in a grace-period leader would stop RCU for the whole process.
//! Every message of the crate goes through [`report`], which writes the whole message in one call
//! and ignores errors, as Linux's `printk` never fails its caller.

use std::io::Write as _;

/// Writes one line to standard error; errors are ignored.
pub(crate) fn report(message: &str) {
    let mut line = String::with_capacity(message.len() + 1);
    line.push_str(message);
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Drops a caught panic payload without letting a panicking `Drop` of the payload escape (the
/// payload of a panicking callback is user data).
pub(crate) fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)))
    {
        // A payload whose drop panics again is leaked rather than dropped a second time.
        std::mem::forget(again);
    }
}

/// The message of a panic payload (`panic!` with a literal gives `&str`, with arguments `String`).
pub(crate) fn payload_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}
