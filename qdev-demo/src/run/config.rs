//! The scenario's parameters (the binary's flags), apart from the scenario itself so that the
//! command line, the scenario and its summary all depend on it and not on each other.

use std::time::Duration;

use crate::qdev::sync_mode::SyncMode;

/// Scenario parameters (the binary's flags).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioConfig {
    /// Run time (see [`ScenarioConfig::finish_hotplugs`]).
    pub duration: Duration,
    /// Number of I/O threads (default [`default_iothreads`]: one per CPU but one, so that they
    /// and the main loop each have a CPU).
    pub iothreads: usize,
    /// Disk slots (4 per target, see [`crate::run::scenario::SLOT_LUNS`]).
    pub disks: usize,
    /// The hot-plug pace: one command is due every `hotplug_interval` from the start of the run
    /// (default [`DEFAULT_HOTPLUG_INTERVAL`]), so every `--sync` mode gets the same number; the
    /// main loop polls with the BQL released until the next one is due. Zero is continuous
    /// hot-plug: commands back to back, as many as the main loop manages (then the modes' counts
    /// differ).
    pub hotplug_interval: Duration,
    /// Whether the main thread hot-plugs at all.
    pub hotplug: bool,
    /// Busy time of a disk's realize, under the BQL.
    pub realize_cost: Duration,
    /// Reader synchronization.
    pub sync: SyncMode,
    /// Pause between walks of the tree walker thread.
    pub walker_interval: Duration,
    /// Time the walker spends on each device inside its read-side critical section (a slow
    /// reader; the negative control makes it long).
    pub walker_dwell: Duration,
    /// Seed of the request and hot-plug choices.
    pub seed: u64,
    /// Whether a run whose main loop fell behind the hot-plug pace goes on past `duration`
    /// until it has issued one hot-plug per `hotplug_interval` of it (up to
    /// [`crate::run::scenario::OVERRUN_LIMIT`] times `duration`), so that runs compared side by
    /// side get the same workload. The comparison (the default run) sets it; off by default, so
    /// that a single run, or one with a pace the main loop cannot keep, ends on time.
    pub finish_hotplugs: bool,
}

/// The default hot-plug pace: one command every 2 ms, half of them `device_add`s; with the
/// default 200 µs realize the main loop holds the BQL for a command about 5% of the time, and
/// keeps that pace on a 2-core machine running several other busy processes (at 1 ms a main
/// loop that the scheduler preempted in its realizes fell behind in RCU mode, where the I/O
/// threads never sleep).
pub const DEFAULT_HOTPLUG_INTERVAL: Duration = Duration::from_millis(2);

/// CPUs this process may run on (1 if unknown).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// I/O threads that fit the machine: one per CPU but one (left to the main loop), at least one.
///
/// ```
/// let n = qdev_demo::run::config::default_iothreads();
/// assert_eq!(n, (qdev_demo::run::config::cpus() - 1).max(1));
/// ```
pub fn default_iothreads() -> usize {
    cpus().saturating_sub(1).max(1)
}

impl ScenarioConfig {
    /// Threads that want a CPU all the time: the I/O threads and the main loop.
    pub fn busy_threads(&self) -> usize {
        self.iothreads + 1
    }

    /// Whether more threads want a CPU all the time than this process has CPUs: then the
    /// scheduler, not the locks, decides much of what each thread gets.
    pub fn oversubscribed(&self) -> bool {
        self.busy_threads() > cpus()
    }
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(5),
            iothreads: default_iothreads(),
            disks: 8,
            hotplug_interval: DEFAULT_HOTPLUG_INTERVAL,
            hotplug: true,
            realize_cost: Duration::from_micros(200),
            sync: SyncMode::Rcu,
            walker_interval: Duration::from_millis(10),
            walker_dwell: Duration::from_micros(20),
            seed: 0x2d24_a646_6154,
            finish_hotplugs: false,
        }
    }
}
