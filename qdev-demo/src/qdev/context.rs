//! Machine-wide shared state every bus, bus child and device points to: the event channel,
//! counters, safety checks, the reader synchronization mode and the realize cost.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::qdev::events::EventQueue;
use crate::qdev::sync_mode::{SyncMode, SyncPolicy};

const LIVE: u32 = 0x11fe_600d;
const FREED: u32 = 0xdead_f4ee;

/// A poison word: live until the object it is embedded in is freed (or, in a negative control,
/// poisoned as if freed). Lock-free readers check it after using an object; seeing it poisoned means a
/// grace period ended while they could still reach the object.
///
/// ```
/// use qdev_demo::qdev::context::Liveness;
/// let l = Liveness::new();
/// assert!(l.is_live());
/// l.mark_freed();
/// assert!(!l.is_live());
/// ```
#[derive(Debug)]
pub struct Liveness(AtomicU32);

impl Default for Liveness {
    fn default() -> Self {
        Self::new()
    }
}

impl Liveness {
    /// A live word.
    pub const fn new() -> Self {
        Self(AtomicU32::new(LIVE))
    }

    /// Poisons the word; written only by the code that frees the object (or simulates it).
    pub fn mark_freed(&self) {
        self.0.store(FREED, Ordering::Relaxed);
    }

    /// Whether the object has not been freed.
    pub fn is_live(&self) -> bool {
        self.0.load(Ordering::Relaxed) == LIVE
    }
}

/// The scenario's safety counters; every one must stay zero.
///
/// ```
/// use qdev_demo::qdev::context::SafetyCounters;
/// let s = SafetyCounters::default();
/// assert!(s.all_zero());
/// s.record_freed_seen();
/// assert_eq!(s.snapshot().freed_object_seen, 1);
/// assert!(!s.all_zero());
/// ```
#[derive(Debug, Default)]
pub struct SafetyCounters {
    freed_object_seen: AtomicU64,
    unrealized_returned: AtomicU64,
    report_luns_inconsistent: AtomicU64,
}

/// A copy of the safety counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SafetySnapshot {
    /// A device or BusChild reached by a reader after it was freed.
    pub freed_object_seen: u64,
    /// `scsi_device_find`/`scsi_device_get` handed out a device whose realize had not completed.
    pub unrealized_returned: u64,
    /// A REPORT LUNS response disagreed with the devices that can be on the target.
    pub report_luns_inconsistent: u64,
}

impl SafetySnapshot {
    /// Whether every counter is zero.
    pub fn all_zero(&self) -> bool {
        *self == Self::default()
    }
}

impl SafetyCounters {
    /// Counts an object seen after it was freed.
    pub fn record_freed_seen(&self) {
        self.freed_object_seen.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an unrealized device returned by a lookup.
    pub fn record_unrealized_returned(&self) {
        self.unrealized_returned.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an inconsistent REPORT LUNS response.
    pub fn record_report_luns_inconsistent(&self) {
        self.report_luns_inconsistent
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> SafetySnapshot {
        SafetySnapshot {
            freed_object_seen: self.freed_object_seen.load(Ordering::Relaxed),
            unrealized_returned: self.unrealized_returned.load(Ordering::Relaxed),
            report_luns_inconsistent: self.report_luns_inconsistent.load(Ordering::Relaxed),
        }
    }

    /// Whether every counter is zero.
    pub fn all_zero(&self) -> bool {
        self.snapshot().all_zero()
    }
}

/// Bookkeeping counters of the device tree.
#[derive(Debug, Default)]
pub struct QdevCounters {
    /// `bus_add_child` calls.
    pub children_added: AtomicU64,
    /// `bus_remove_child` calls that unlinked a child.
    pub children_removed: AtomicU64,
    /// BusChild nodes freed (after their grace period).
    pub children_freed: AtomicU64,
    /// Devices freed (last reference dropped).
    pub devices_freed: AtomicU64,
}

/// Machine-wide state shared by buses and devices.
///
/// ```
/// use qdev_demo::qdev::context::QdevContext;
/// use qdev_demo::qdev::sync_mode::SyncMode;
/// use std::time::Duration;
/// let ctx = QdevContext::new(SyncMode::Rcu, Duration::from_micros(10));
/// assert_eq!(ctx.sync().mode(), SyncMode::Rcu);
/// assert!(ctx.safety().all_zero());
/// ```
#[derive(Debug)]
pub struct QdevContext {
    events: EventQueue,
    counters: QdevCounters,
    safety: SafetyCounters,
    sync: SyncPolicy,
    realize_cost: Duration,
}

impl QdevContext {
    /// A context whose events are only counted.
    pub fn new(mode: SyncMode, realize_cost: Duration) -> Self {
        Self {
            events: EventQueue::new(false),
            counters: QdevCounters::default(),
            safety: SafetyCounters::default(),
            sync: SyncPolicy::new(mode),
            realize_cost,
        }
    }

    /// Queue events for a reader (the monitor) instead of only counting them.
    pub fn with_event_queue(mut self) -> Self {
        self.events = EventQueue::new(true);
        self
    }

    /// The event channel.
    pub fn events(&self) -> &EventQueue {
        &self.events
    }

    /// Tree bookkeeping counters.
    pub fn counters(&self) -> &QdevCounters {
        &self.counters
    }

    /// Safety counters.
    pub fn safety(&self) -> &SafetyCounters {
        &self.safety
    }

    /// Reader/writer synchronization.
    pub fn sync(&self) -> &SyncPolicy {
        &self.sync
    }

    /// Time a disk's realize spends (busy) under the BQL, standing in for opening its backend.
    pub fn realize_cost(&self) -> Duration {
        self.realize_cost
    }
}

/// Busy-waits for `d` without yielding the CPU (or any lock the caller holds), like a realize
/// that does real work under the BQL.
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// qdev_demo::qdev::context::spin_for(Duration::from_micros(50));
/// assert!(t.elapsed() >= Duration::from_micros(50));
/// ```
pub fn spin_for(d: Duration) {
    if d.is_zero() {
        return;
    }
    let end = Instant::now() + d;
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safety_counters_each_count() {
        let s = SafetyCounters::default();
        s.record_unrealized_returned();
        s.record_report_luns_inconsistent();
        s.record_report_luns_inconsistent();
        let snap = s.snapshot();
        assert_eq!(
            snap,
            SafetySnapshot {
                freed_object_seen: 0,
                unrealized_returned: 1,
                report_luns_inconsistent: 2
            }
        );
        assert!(!snap.all_zero());
    }

    #[test]
    fn context_builders() {
        let ctx = QdevContext::new(SyncMode::Bql, Duration::ZERO).with_event_queue();
        assert_eq!(ctx.realize_cost(), Duration::ZERO);
        assert_eq!(ctx.counters().children_added.load(Ordering::Relaxed), 0);
        ctx.events()
            .emit(crate::qdev::events::QmpEvent::DeviceDeleted {
                device: None,
                path: "/x".into(),
            });
        assert!(ctx.events().try_next().is_some());
        spin_for(Duration::ZERO);
    }
}
