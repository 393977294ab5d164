//! The stress scenario in each `--sync` mode, about 1.5 s each: every safety counter must stay
//! zero and every unplugged device must be reclaimed. Its negative control is
//! `tests/negative_control.rs`. Then the default, continuous hot-plug in each mode (1 s each):
//! the main loop must hold the BQL most of the time it can run, and the lookup latency must show
//! the realize cost exactly in the modes whose readers wait for writers. A paced run is the
//! negative control of the BQL-held measure.
//!
//! The binary runs under `rcu_test_support::PoisonAlloc`: a device or bus child freed while an I/O
//! thread can still reach it reads as poison, which its liveness word does not accept (a
//! `freed_object_seen`), instead of a recycled block. The stress scenarios (not the timing ones,
//! whose latency and BQL-share bounds a paused thread would break) are perturbed: signals pause
//! random threads, the library's included (`rcu_test_support::perturb`).

use std::sync::Mutex;
use std::time::Duration;

use qdev_demo::qdev::sync_mode::SyncMode;
use qdev_demo::run::config::ScenarioConfig;
use qdev_demo::run::scenario::run_scenario;
#[cfg(doc)]
use qdev_demo::run::summary::Summary;
use qdev_demo::util::os::RunDelayClock;

#[global_allocator]
static ALLOC: rcu_test_support::PoisonAlloc = rcu_test_support::PoisonAlloc::new();

/// The machines have 2 cores: run one scenario at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn stress(sync: SyncMode) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Held with SERIAL: no timing scenario runs while threads are being paused.
    let _perturb = rcu_test_support::perturb::start();
    let config = ScenarioConfig {
        duration: Duration::from_millis(1500),
        iothreads: 2,
        disks: 8,
        // Paced (the main loop polls 200 µs with the BQL released between commands) so that the
        // I/O threads make progress in every mode, including those that wait for the BQL.
        hotplug_interval: Duration::from_micros(200),
        realize_cost: Duration::from_micros(50),
        sync,
        ..ScenarioConfig::default()
    };
    let s = run_scenario(&config, |_| {});
    eprintln!("{}", s.to_text());
    assert!(
        s.safety.all_zero(),
        "safety counters fired in {sync} mode: {:?}",
        s.safety
    );
    assert!(s.passed());
    assert!(
        s.reclamation_complete(),
        "removed {} freed {}",
        s.children_removed,
        s.children_freed
    );
    assert!(s.requests() > 10_000, "I/O threads made progress");
    assert!(
        s.hotplug.adds > 10 && s.hotplug.dels > 10,
        "hot-plug made progress: {:?}",
        s.hotplug
    );
    assert!(s.io.report_luns > 0 && s.io.lun_resets > 0 && s.io.nexus_resets > 0);
    assert!(s.io.lookups.count() > 0 && s.io.lookups.percentile_ns(99.0) > 0);
    assert!(s.io.lookups_corrected.count() >= s.io.lookups.count());
    assert!(s.walks > 0);
    assert_eq!(s.io.malformed, 0);
}

#[test]
fn stress_rcu() {
    stress(SyncMode::Rcu);
}

#[test]
fn stress_bql() {
    stress(SyncMode::Bql);
}

#[test]
fn stress_rwlock() {
    stress(SyncMode::RwLock);
}

/// Least share of the time the main loop can run during which it must hold the BQL with
/// continuous hot-plug. The share of *wall* time is no measure on a machine with fewer cores than
/// runnable threads: pinned to one core (`taskset -c 0`), the I/O threads get their scheduler
/// share of the CPU after each release, and the main loop held the BQL 19-33% of the run (it
/// failed the former `> 30%` check 4 times in 12). The time the main loop waited for a CPU with
/// the BQL released is subtracted ([`Summary::main_loop_bql_held_fraction_when_runnable`]):
/// measured 92-100% on one core and on two on an idle machine, 80-100% pinned to one core while
/// other builds kept the 2-core machine's load average at 7 (a BQL holder preempted by them
/// delays the main loop's re-take); a 1 ms poll between commands brings it to about 10%
/// (`paced_main_loop_is_caught`).
const MIN_BQL_HELD_WHEN_RUNNABLE: f64 = 0.5;

/// Continuous hot-plug (commands back to back) with the default 200 µs realize. The main loop
/// holds the BQL except around its zero-timeout polls and is never kept from re-taking it for long; in the BQL and
/// RwLock modes the I/O threads wait out whole commands, so their corrected p99 lookup latency is
/// at least one realize, while RCU lookups never wait for one (raw p99 far below it).
fn continuous(sync: SyncMode) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = ScenarioConfig {
        duration: Duration::from_secs(1),
        sync,
        iothreads: 2,
        hotplug_interval: Duration::ZERO,
        ..ScenarioConfig::default()
    };
    assert!(config.hotplug);
    let s = run_scenario(&config, |_| {});
    eprintln!("{}", s.to_text());
    assert!(s.passed() && s.reclamation_complete());
    assert!(
        s.hotplug.adds > 100,
        "{sync}: the main loop was starved: {:?}",
        s.hotplug
    );
    assert!(
        s.main_loop.bql_reacquire_max < Duration::from_millis(500),
        "{sync}: the main loop waited {:?} to re-take the BQL",
        s.main_loop.bql_reacquire_max
    );
    // Without the kernel's run-queue wait (no /proc/thread-self/schedstat) the measure is the
    // share of wall time, which is only meaningful when every busy thread has a core.
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if RunDelayClock::new().read().is_some() || cpus > config.iothreads {
        assert!(
            s.main_loop_bql_held_fraction_when_runnable() > MIN_BQL_HELD_WHEN_RUNNABLE,
            "{sync}: the main loop held the BQL only {:.0}% of the time it could run ({:.0}% of \
             the run; waited {:?} for a CPU with the BQL released)",
            s.main_loop_bql_held_fraction_when_runnable() * 100.0,
            s.main_loop_bql_held_fraction() * 100.0,
            s.main_loop.cpu_wait_released
        );
    } else {
        eprintln!(
            "{sync}: no run-queue wait on this kernel and {cpus} CPU(s): BQL share not judged"
        );
    }
    let realize_ns = config.realize_cost.as_nanos() as u64;
    match sync {
        SyncMode::Bql | SyncMode::RwLock => {
            // Each command runs whole under the writer's lock, so no reader can meet a disk
            // between its plug and the end of its realize.
            assert_eq!(
                s.io.not_found, 0,
                "{sync}: a lookup met a disk mid-plug under the lock"
            );
            let p99 = s.io.lookups_corrected.percentile_ns(99.0);
            assert!(
                p99 >= realize_ns,
                "{sync}: corrected p99 {p99} ns does not show the {realize_ns} ns realize"
            );
        }
        SyncMode::Rcu => {
            // Lock-free readers do meet disks linked but not yet realized, and skip them as
            // QEMU's scsi_device_find does: never returned (that would be a safety failure).
            assert!(s.io.not_found > 0, "rcu: no lookup met a disk mid-plug");
            assert_eq!(s.safety.unrealized_returned, 0);
            let p99 = s.io.lookups.percentile_ns(99.0);
            assert!(
                p99 < realize_ns / 10,
                "rcu: raw p99 {p99} ns: lookups waited for realize"
            );
        }
    }
}

#[test]
fn continuous_hotplug_rcu() {
    continuous(SyncMode::Rcu);
}

#[test]
fn continuous_hotplug_bql() {
    continuous(SyncMode::Bql);
}

#[test]
fn continuous_hotplug_rwlock() {
    continuous(SyncMode::RwLock);
}

/// Negative control of the BQL-held measure: a main loop that releases the BQL for 1 ms between
/// 200 µs commands must fall below [`MIN_BQL_HELD_WHEN_RUNNABLE`] on any number of cores (its
/// sleep in the poll is not time spent waiting for a CPU).
#[test]
fn paced_main_loop_is_caught() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = ScenarioConfig {
        duration: Duration::from_millis(500),
        hotplug_interval: Duration::from_millis(1),
        sync: SyncMode::Bql,
        ..ScenarioConfig::default()
    };
    let s = run_scenario(&config, |_| {});
    eprintln!("{}", s.to_text());
    assert!(s.passed() && s.hotplug.adds > 10);
    assert!(
        s.main_loop_bql_held_fraction_when_runnable() < MIN_BQL_HELD_WHEN_RUNNABLE,
        "a main loop polling 1 ms per command held the BQL {:.0}% of the time it could run: \
         the measure cannot tell a released BQL from a held one",
        s.main_loop_bql_held_fraction_when_runnable() * 100.0
    );
}
