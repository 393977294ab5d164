//! A fixed-size log-linear latency histogram: cheap enough to record every lookup of every I/O
//! thread (one `leading_zeros`, one add), precise to 1/8 of a power of two, with HdrHistogram's
//! correction for coordinated omission ([`LatencyHistogram::record_corrected`]).

use std::time::Duration;

/// Sub-buckets per power of two (3 bits of precision, at most 12.5 % relative error).
const SUB_BITS: u32 = 3;
const SUBS: usize = 1 << SUB_BITS;
/// Enough buckets for every `u64` nanosecond value.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUBS;

/// Latency histogram in nanoseconds; one per I/O thread, merged at the end.
///
/// ```
/// use qdev_demo::util::histogram::LatencyHistogram;
/// use std::time::Duration;
/// let mut h = LatencyHistogram::new();
/// for ns in 1..=100 {
///     h.record(Duration::from_nanos(ns));
/// }
/// assert_eq!(h.count(), 100);
/// assert_eq!(h.max_ns(), 100);
/// let p50 = h.percentile_ns(50.0);
/// assert!((44..=56).contains(&p50), "{p50}");
/// ```
#[derive(Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    max: u64,
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.total)
            .field("p50_ns", &self.percentile_ns(50.0))
            .field("p99_ns", &self.percentile_ns(99.0))
            .field("max_ns", &self.max)
            .finish()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

fn saturating_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn bucket_of(ns: u64) -> usize {
    if ns < SUBS as u64 {
        return ns as usize;
    }
    let msb = 63 - ns.leading_zeros();
    let shift = msb - SUB_BITS;
    let sub = ((ns >> shift) as usize) & (SUBS - 1);
    (shift as usize + 1) * SUBS + sub
}

/// The smallest value that falls into `bucket`.
fn bucket_lower(bucket: usize) -> u64 {
    if bucket < SUBS {
        return bucket as u64;
    }
    let shift = (bucket / SUBS - 1) as u32;
    let sub = (bucket % SUBS) as u64;
    (SUBS as u64 + sub) << shift
}

/// The largest value that falls into `bucket` (what percentiles report: an upper bound).
fn bucket_upper(bucket: usize) -> u64 {
    if bucket < SUBS {
        return bucket as u64;
    }
    let shift = (bucket / SUBS - 1) as u32;
    let sub = (bucket % SUBS) as u64;
    let low = (SUBS as u64 + sub) << shift;
    low.saturating_add((1u64 << shift) - 1)
}

impl LatencyHistogram {
    /// An empty histogram (about 4 KiB).
    pub fn new() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            total: 0,
            max: 0,
        }
    }

    /// Records one sample.
    pub fn record(&mut self, latency: Duration) {
        self.record_ns(saturating_ns(latency));
    }

    fn record_ns(&mut self, ns: u64) {
        self.counts[bucket_of(ns)] += 1;
        self.total += 1;
        self.max = self.max.max(ns);
    }

    /// Records one sample measured by a closed-loop issuer that normally issues a request every
    /// `expected_interval`, plus the samples of the requests it *would* have issued while this
    /// one stalled: `latency - k * expected_interval` for every k >= 1 that leaves at least
    /// `expected_interval` (HdrHistogram's `recordValueWithExpectedInterval` /
    /// `record_correct`). Each synthetic sample is the latency a request would have seen,
    /// counted from the moment it was intended to be issued. An `expected_interval` of zero
    /// records the sample alone. Costs one step per bucket, not per synthetic sample.
    ///
    /// ```
    /// use qdev_demo::util::histogram::LatencyHistogram;
    /// use std::time::Duration;
    /// let mut h = LatencyHistogram::new();
    /// h.record_corrected(Duration::from_nanos(1000), Duration::from_nanos(100));
    /// // 1000 itself, then 900, 800, ..., 100 for the nine requests stuck behind it.
    /// assert_eq!((h.count(), h.max_ns()), (10, 1000));
    /// h.record_corrected(Duration::from_nanos(50), Duration::from_nanos(100));
    /// assert_eq!(h.count(), 11, "a sample within the interval is recorded alone");
    /// ```
    pub fn record_corrected(&mut self, latency: Duration, expected_interval: Duration) {
        let ns = saturating_ns(latency);
        self.record_ns(ns);
        let step = saturating_ns(expected_interval);
        if step == 0 || ns < step.saturating_mul(2) {
            return;
        }
        // The synthetic values ns - step, ns - 2 step, ... down to the last one >= step form an
        // arithmetic sequence: count how many fall into each bucket on the way down.
        let mut v = ns - step;
        while v >= step {
            let bucket = bucket_of(v);
            let floor = bucket_lower(bucket).max(step);
            let n = (v - floor) / step + 1;
            self.counts[bucket] += n;
            self.total += n;
            // n * step <= v - floor + step <= v, so this cannot underflow.
            v -= n * step;
        }
    }

    /// Adds every sample of `other`.
    ///
    /// ```
    /// use qdev_demo::util::histogram::LatencyHistogram;
    /// use std::time::Duration;
    /// let (mut a, mut b) = (LatencyHistogram::new(), LatencyHistogram::new());
    /// a.record(Duration::from_nanos(5));
    /// b.record(Duration::from_micros(7));
    /// a.merge(&b);
    /// assert_eq!((a.count(), a.max_ns()), (2, 7000));
    /// ```
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The exact largest sample, in nanoseconds (0 when empty).
    pub fn max_ns(&self) -> u64 {
        self.max
    }

    /// The `pct`-th percentile (0-100) in nanoseconds, as the upper bound of its bucket and never
    /// above the exact maximum; 0 when empty.
    pub fn percentile_ns(&self, pct: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((pct.clamp(0.0, 100.0) / 100.0) * self.total as f64)
            .ceil()
            .max(1.0) as u64;
        let mut seen = 0;
        for (bucket, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return bucket_upper(bucket).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut last = 0;
        for ns in (0..5000u64).chain([u64::MAX / 3, u64::MAX]) {
            let b = bucket_of(ns);
            assert!(b >= last, "bucket order at {ns}");
            assert!(b < BUCKETS);
            assert!(bucket_upper(b) >= ns, "upper bound of {ns}");
            if b > 0 {
                assert!(bucket_upper(b - 1) < ns, "previous bucket of {ns}");
            }
            last = b;
        }
    }

    #[test]
    fn bucket_bounds_agree() {
        for b in 0..BUCKETS {
            let (lo, hi) = (bucket_lower(b), bucket_upper(b));
            assert!(lo <= hi);
            assert_eq!((bucket_of(lo), bucket_of(hi)), (b, b), "bucket {b}");
        }
    }

    /// The per-bucket arithmetic equals recording every synthetic sample one by one.
    #[test]
    fn corrected_recording_matches_the_naive_loop() {
        for (ns, step) in [
            (1000u64, 100u64),
            (1050, 100),
            (199, 100),
            (200, 100),
            (123_456, 7),
            (5_000_000, 250),
            (17, 3),
            (1 << 40, 1 << 20),
            (10, 0),
        ] {
            let mut fast = LatencyHistogram::new();
            fast.record_corrected(Duration::from_nanos(ns), Duration::from_nanos(step));
            let mut naive = LatencyHistogram::new();
            naive.record_ns(ns);
            if step > 0 {
                let mut v = ns.saturating_sub(step);
                while v >= step {
                    naive.record_ns(v);
                    v -= step;
                }
            }
            assert_eq!(fast.count(), naive.count(), "{ns}/{step}");
            assert_eq!(fast.max_ns(), ns);
            assert!(
                fast.counts.iter().eq(naive.counts.iter()),
                "{ns}/{step}: bucket counts differ"
            );
        }
    }

    #[test]
    fn huge_corrections_stay_cheap_and_saturate() {
        let mut h = LatencyHistogram::new();
        h.record_corrected(Duration::from_secs(u64::MAX), Duration::from_nanos(1));
        assert_eq!(h.count(), u64::MAX, "every nanosecond below the maximum");
        assert_eq!(h.max_ns(), u64::MAX);
    }

    #[test]
    fn percentiles_within_precision() {
        let mut h = LatencyHistogram::new();
        for ns in 1..=10_000u64 {
            h.record(Duration::from_nanos(ns));
        }
        let p99 = h.percentile_ns(99.0);
        assert!((9900..=9900 * 9 / 8 + 1).contains(&p99), "{p99}");
        assert_eq!(h.percentile_ns(100.0), 10_000);
        assert_eq!(h.percentile_ns(0.0), 1);
    }

    #[test]
    fn empty_histogram_reports_zero() {
        let h = LatencyHistogram::default();
        assert_eq!((h.count(), h.max_ns(), h.percentile_ns(99.0)), (0, 0, 0));
        assert!(format!("{h:?}").contains("count: 0"));
    }

    #[test]
    fn huge_durations_saturate() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_secs(u64::MAX));
        assert_eq!(h.max_ns(), u64::MAX);
        assert_eq!(h.percentile_ns(50.0), u64::MAX);
    }
}
