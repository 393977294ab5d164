//! Criterion settings shared by every bench target (see `benches::tuning`).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};

use benches::tuning::{MEASUREMENT, RESAMPLES, SAMPLES, WARM_UP};

/// A group with the suite's short sampling settings.
pub fn group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(SAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
        .nresamples(RESAMPLES);
    group
}
