//! The bottom layer: helpers that know nothing of devices. System calls ([`os`]), numbers in
//! human units ([`units`]), the latency histogram ([`histogram`]) and an I/O thread's request
//! pace ([`pacing`]). No module here imports any other layer of the crate.

pub mod histogram;
pub mod os;
pub mod pacing;
pub mod units;
