//! How long each criterion group runs, shared by every bench target so that the whole
//! `cargo bench -p benches` stays well under 15 minutes on 2 cores.
//!
//! Each benchmark gets [`WARM_UP`] + [`MEASUREMENT`] with [`SAMPLES`] samples; on 2 cores
//! the suite has 182 benchmarks with liburcu (the thread sweeps grow with the cores: 1, 2,
//! 4, ... up to twice the cores), so the full run takes a few minutes plus compilation.

use std::time::Duration;

/// Criterion samples per benchmark (criterion's minimum).
pub const SAMPLES: usize = 10;

/// Bootstrap resamples of criterion's analysis (its default, 100 000, costs about as
/// much time as the measurement itself on these machines).
pub const RESAMPLES: usize = 10_000;

/// Warm-up time per benchmark.
pub const WARM_UP: Duration = Duration::from_millis(300);

/// Measurement time per benchmark.
pub const MEASUREMENT: Duration = Duration::from_millis(800);

/// Measurement time for the slow, microsecond-scale benchmarks (grace periods,
/// barriers), which need fewer, longer iterations.
pub const MEASUREMENT_SLOW: Duration = Duration::from_millis(1500);

/// Callbacks queued before each timed `rcu_barrier` ("a small queue").
pub const BARRIER_QUEUE: u64 = 16;

/// Concurrent `synchronize_rcu` callers in the shared-grace-period benchmark.
pub const CALLERS: usize = 4;
