//! The stress scenario in each `--sync` mode, about 1.5 s each: every safety counter must stay
//! zero and every unplugged device must be reclaimed. Its negative control is
//! `tests/negative_control.rs`. Then the default, continuous hot-plug in each mode (1 s each):
//! the main loop must hold the BQL most of the time, and the lookup latency must show the realize
//! cost exactly in the modes whose readers wait for writers.

use std::sync::Mutex;
use std::time::Duration;

use qdev_demo::scenario::{ScenarioConfig, run_scenario};
use qdev_demo::sync_mode::SyncMode;

/// The machines have 2 cores: run one scenario at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn stress(sync: SyncMode) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
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

/// The defaults: continuous hot-plug with a 200 µs realize. The main loop holds the BQL except
/// around its zero-timeout polls and is never kept from re-taking it for long; in the BQL and
/// RwLock modes the I/O threads wait out whole commands, so their corrected p99 lookup latency is
/// at least one realize, while RCU lookups never wait for one (raw p99 far below it).
fn continuous(sync: SyncMode) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = ScenarioConfig {
        duration: Duration::from_secs(1),
        sync,
        ..ScenarioConfig::default()
    };
    assert!(config.hotplug_interval.is_zero() && config.hotplug);
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
    let realize_ns = config.realize_cost.as_nanos() as u64;
    match sync {
        SyncMode::Bql | SyncMode::RwLock => {
            assert!(
                s.main_loop_bql_held_fraction() > 0.3,
                "{sync}: the main loop held the BQL only {:.0}% of the run",
                s.main_loop_bql_held_fraction() * 100.0
            );
            let p99 = s.io.lookups_corrected.percentile_ns(99.0);
            assert!(
                p99 >= realize_ns,
                "{sync}: corrected p99 {p99} ns does not show the {realize_ns} ns realize"
            );
        }
        SyncMode::Rcu => {
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
