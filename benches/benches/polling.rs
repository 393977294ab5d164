//! Workload 7: rcu-core's polling API, `start_poll_synchronize_rcu()` and
//! `poll_state_synchronize_rcu(state)` (on a state whose grace period has elapsed).
//! Criterion time = one call.

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use benches::polling::{drive_poll_state, drive_start_poll};

fn polling(c: &mut Criterion) {
    let mut group = common::group(c, "polling");
    group.bench_function(
        BenchmarkId::new("rcu-core", "start_poll_synchronize_rcu()"),
        |b| b.iter_custom(drive_start_poll),
    );
    group.bench_function(
        BenchmarkId::new("rcu-core", "poll_state_synchronize_rcu()"),
        |b| b.iter_custom(drive_poll_state),
    );
    group.finish();
}

criterion_group!(benches, polling);
criterion_main!(benches);
