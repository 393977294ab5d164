//! Panic payload helpers for the misuse tests.

use std::any::Any;

/// The message of a panic payload (`panic!` with a literal gives `&str`, with arguments `String`).
pub fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic payload>")
    }
}
