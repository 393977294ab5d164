//! QMP events: DEVICE_DELETED, emitted when an unplugged device is finally freed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A QMP event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QmpEvent {
    /// `DEVICE_DELETED`: the device is gone (its last reference was dropped), so its id and its
    /// drive can be reused. QEMU emits it from `device_finalize`.
    DeviceDeleted {
        /// The device id, if it had one.
        device: Option<String>,
        /// The QOM canonical path.
        path: String,
    },
}

/// An event with the time it was emitted.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// The event.
    pub event: QmpEvent,
    /// When it was emitted.
    pub at: Instant,
}

/// The monitor's event channel: counts every event, and queues them for a reader when asked to.
///
/// ```
/// use qdev_demo::qdev::events::{EventQueue, QmpEvent};
/// let q = EventQueue::new(true);
/// q.emit(QmpEvent::DeviceDeleted { device: Some("d".into()), path: "/machine/peripheral/d".into() });
/// assert_eq!(q.emitted(), 1);
/// assert!(q.try_next().is_some());
/// assert!(q.try_next().is_none());
/// ```
#[derive(Debug)]
pub struct EventQueue {
    keep: bool,
    queue: Mutex<VecDeque<EventRecord>>,
    ready: Condvar,
    emitted: AtomicU64,
}

impl EventQueue {
    /// A channel; `keep = false` only counts events (the stress scenario), `true` queues them for
    /// [`EventQueue::next_timeout`] (the monitor).
    pub fn new(keep: bool) -> Self {
        Self {
            keep,
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            emitted: AtomicU64::new(0),
        }
    }

    /// Emits `event` (callable from any thread, including rcu-core's callback thread) and wakes
    /// whoever waits for events.
    pub fn emit(&self, event: QmpEvent) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if self.keep {
            q.push_back(EventRecord {
                event,
                at: Instant::now(),
            });
        }
        // Counted under the queue mutex, so a waiter in `wait_emitted_beyond` cannot miss it.
        self.emitted.fetch_add(1, Ordering::Relaxed);
        self.ready.notify_all();
    }

    /// Waits up to `timeout` until more than `seen` events were emitted (in either mode) and
    /// returns the count: how the scenario's main loop, with no command it can issue, sleeps in
    /// its poll until the next DEVICE_DELETED.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = qdev_demo::qdev::events::EventQueue::new(false);
    /// assert_eq!(q.wait_emitted_beyond(0, Duration::from_millis(1)), 0);
    /// ```
    pub fn wait_emitted_beyond(&self, seen: u64, timeout: Duration) -> u64 {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let _unused = self
            .ready
            .wait_timeout_while(q, timeout, |_| self.emitted() <= seen)
            .unwrap_or_else(|e| e.into_inner());
        self.emitted()
    }

    /// How many events were emitted so far.
    pub fn emitted(&self) -> u64 {
        self.emitted.load(Ordering::Relaxed)
    }

    /// The oldest queued event, if any.
    pub fn try_next(&self) -> Option<EventRecord> {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// Waits up to `timeout` for an event.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = qdev_demo::qdev::events::EventQueue::new(true);
    /// assert!(q.next_timeout(Duration::from_millis(1)).is_none());
    /// ```
    pub fn next_timeout(&self, timeout: Duration) -> Option<EventRecord> {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (mut q, _) = self
            .ready
            .wait_timeout_while(q, timeout, |q| q.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        q.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counting_only_mode_does_not_queue() {
        let q = EventQueue::new(false);
        q.emit(QmpEvent::DeviceDeleted {
            device: None,
            path: "/p".into(),
        });
        assert_eq!(q.emitted(), 1);
        assert!(q.try_next().is_none());
    }

    #[test]
    fn wait_emitted_beyond_wakes_on_emit_in_counting_mode() {
        let q = Arc::new(EventQueue::new(false));
        let q2 = q.clone();
        let t = std::thread::spawn(move || q2.wait_emitted_beyond(0, Duration::from_secs(30)));
        q.emit(QmpEvent::DeviceDeleted {
            device: None,
            path: "/p".into(),
        });
        assert_eq!(t.join().unwrap(), 1);
        assert_eq!(
            q.wait_emitted_beyond(0, Duration::from_secs(30)),
            1,
            "already beyond"
        );
    }

    #[test]
    fn next_timeout_wakes_on_emit() {
        let q = Arc::new(EventQueue::new(true));
        let q2 = q.clone();
        let t = std::thread::spawn(move || q2.next_timeout(Duration::from_secs(30)));
        q.emit(QmpEvent::DeviceDeleted {
            device: Some("a".into()),
            path: "/a".into(),
        });
        let rec = t.join().unwrap().expect("event delivered");
        assert_eq!(
            rec.event,
            QmpEvent::DeviceDeleted {
                device: Some("a".into()),
                path: "/a".into()
            }
        );
    }
}
