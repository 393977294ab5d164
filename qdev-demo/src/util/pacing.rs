//! The request pace of a closed-loop issuer (an I/O thread): the median of its recent
//! request-to-request intervals, which is the "expected interval" of the coordinated-omission
//! correction ([`crate::util::histogram::LatencyHistogram::record_corrected`]).
//!
//! An I/O thread issues its next request only when the previous one completed. When a lookup
//! stalls (behind a realize that holds the BQL, say), the requests the guest would have queued
//! meanwhile are never issued, so a plain latency histogram records one slow sample where an
//! open-loop load would have seen hundreds. The median of the recent intervals is the pace the
//! thread keeps when it is not stalled (stalls are rare, so they do not move the median).

use std::time::{Duration, Instant};

/// Intervals the median is taken over (odd, so the median is one of them).
pub const WINDOW: usize = 63;
/// Requests between two recomputations of the median once the window is full.
pub const UPDATE_EVERY: u32 = 256;

/// Median of the last [`WINDOW`] request intervals of one thread.
///
/// ```
/// use qdev_demo::util::pacing::RequestPacing;
/// use std::time::{Duration, Instant};
/// let mut pacing = RequestPacing::new();
/// let t0 = Instant::now();
/// for i in 0..100u32 {
///     // A request every 300 ns, except one that came 50 µs late.
///     let late = if i >= 60 { Duration::from_micros(50) } else { Duration::ZERO };
///     pacing.on_request(t0 + Duration::from_nanos(300) * i + late);
/// }
/// assert_eq!(pacing.expected_interval(), Duration::from_nanos(300));
/// ```
#[derive(Debug, Clone)]
pub struct RequestPacing {
    last_start: Option<Instant>,
    /// Ring of the most recent intervals in nanoseconds (saturated to `u32`, about 4 s).
    ring: [u32; WINDOW],
    filled: usize,
    next: usize,
    since_update: u32,
    median_ns: u32,
}

impl Default for RequestPacing {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestPacing {
    /// No requests seen yet: the expected interval is zero (no correction).
    pub fn new() -> Self {
        Self {
            last_start: None,
            ring: [0; WINDOW],
            filled: 0,
            next: 0,
            since_update: 0,
            median_ns: 0,
        }
    }

    /// Notes that a request was issued at `start` (call it once per request, before recording
    /// its latency with [`RequestPacing::expected_interval`]). The median is recomputed for each
    /// request until the window is full, then every [`UPDATE_EVERY`] requests.
    pub fn on_request(&mut self, start: Instant) {
        if let Some(last) = self.last_start.replace(start) {
            let ns = start.saturating_duration_since(last).as_nanos();
            self.ring[self.next] = u32::try_from(ns).unwrap_or(u32::MAX);
            self.next = (self.next + 1) % WINDOW;
            self.since_update += 1;
            if self.filled < WINDOW {
                self.filled += 1;
                self.update();
            } else if self.since_update >= UPDATE_EVERY {
                self.update();
            }
        }
    }

    fn update(&mut self) {
        self.since_update = 0;
        let mut window = self.ring;
        let recent = &mut window[..self.filled];
        let mid = recent.len() / 2;
        self.median_ns = *recent.select_nth_unstable(mid).1;
    }

    /// The thread's recent median request interval (zero before its second request).
    pub fn expected_interval(&self) -> Duration {
        Duration::from_nanos(u64::from(self.median_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_zero_and_follows_the_pace() {
        let mut p = RequestPacing::default();
        assert_eq!(p.expected_interval(), Duration::ZERO);
        let t0 = Instant::now();
        p.on_request(t0);
        assert_eq!(
            p.expected_interval(),
            Duration::ZERO,
            "one request: no interval"
        );
        p.on_request(t0 + Duration::from_nanos(500));
        assert_eq!(p.expected_interval(), Duration::from_nanos(500));
        // The pace changes to 2 µs: the median follows within a window plus an update period.
        let mut t = t0 + Duration::from_nanos(500);
        for _ in 0..(WINDOW + UPDATE_EVERY as usize) {
            t += Duration::from_micros(2);
            p.on_request(t);
        }
        assert_eq!(p.expected_interval(), Duration::from_micros(2));
    }

    #[test]
    fn rare_stalls_do_not_move_the_median() {
        let mut p = RequestPacing::new();
        let mut t = Instant::now();
        for i in 0..10_000u32 {
            t += if i % 50 == 0 {
                Duration::from_micros(200)
            } else {
                Duration::from_nanos(250)
            };
            p.on_request(t);
        }
        assert_eq!(p.expected_interval(), Duration::from_nanos(250));
    }

    #[test]
    fn clock_going_nowhere_and_huge_gaps_saturate() {
        let mut p = RequestPacing::new();
        let t = Instant::now();
        p.on_request(t);
        p.on_request(t); // same instant: a zero interval
        assert_eq!(p.expected_interval(), Duration::ZERO);
        p.on_request(t + Duration::from_secs(100));
        p.on_request(t + Duration::from_secs(200));
        assert_eq!(
            p.expected_interval(),
            Duration::from_nanos(u64::from(u32::MAX))
        );
    }
}
