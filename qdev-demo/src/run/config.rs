//! The scenario's parameters (the binary's flags), apart from the scenario itself so that the
//! command line, the scenario and its summary all depend on it and not on each other.

use std::time::Duration;

use crate::qdev::sync_mode::SyncMode;

/// Scenario parameters (the binary's flags).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioConfig {
    /// Run time.
    pub duration: Duration,
    /// Number of I/O threads.
    pub iothreads: usize,
    /// Disk slots (4 per target, see [`crate::run::scenario::SLOT_LUNS`]).
    pub disks: usize,
    /// Poll timeout of the main loop between hot-plug operations, spent with the BQL released;
    /// zero (the default) is continuous hot-plug: release the BQL, poll with a zero timeout,
    /// re-take it.
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
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(5),
            iothreads: 2,
            disks: 8,
            hotplug_interval: Duration::ZERO,
            hotplug: true,
            realize_cost: Duration::from_micros(200),
            sync: SyncMode::Rcu,
            walker_interval: Duration::from_millis(10),
            walker_dwell: Duration::from_micros(20),
            seed: 0x2d24_a646_6154,
        }
    }
}
