//! Running a loom model of the safe types at preemption bound 2 (each model has three threads:
//! updater, reader, callback thread). With `--cfg rcu_broken_gp`, grace periods are switched off
//! first, so the model must report the race it exists to rule out.

/// Runs `f` under loom (see the module docs).
pub fn model(f: impl Fn() + Send + Sync + 'static) {
    #[cfg(rcu_broken_gp)]
    rcu_core::testing::set_broken_grace_periods(true);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(f);
}
