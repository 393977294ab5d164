//! The rcutorture "pipeline" stress engine, shared by `tests/torture.rs`, `tests/negative_control.rs`,
//! `tests/fallback.rs` and `examples/torture.rs` (each includes this file with `#[path]`).
//!
//! Modelled on QEMU `tests/unit/rcutorture.c` and liburcu `tests/regression/rcutorture.h`, both after
//! Paul McKenney's 2008 rcutorture "Reader Pipe":
//!
//! * A pipeline of [`PIPE_LEN`] slots, each holding `pipe_count` (the slot's age, in updates spent not
//!   current) and `mbtest` (1 while the slot may be reached by readers, 0 once it is "freed"). The slots
//!   live in this run's stack frame and outlive every thread of the run, so nothing is ever really
//!   freed while a reader might hold it: a broken grace period is observed, never turned into UB.
//! * One real writer publishes the next slot with [`rcu_core::raw::rcu_assign_pointer`], increments
//!   `pipe_count` of every other slot, waits for a grace period (rotating through every way the API
//!   offers one, see [`GpMethod`]) and then "frees" the previous slot by clearing its `mbtest`.
//! * Readers take a read guard, load the current slot with [`rcu_core::raw::rcu_dereference`], check
//!   `mbtest`, enter a nested section and spin, read `pipe_count` after the inner unlock (this checks
//!   that nesting keeps the outer section alive), re-check `mbtest`, then leave.
//! * Fake writers only call [`rcu_core::synchronize_rcu`] in a loop, so grace periods are shared
//!   between concurrent callers.
//!
//! A slot's age is 0 while current, 1 once replaced, and grows by one per later update, each of which
//! waits for a full grace period first. A reader that sees age 2 or more held the slot across a whole
//! grace period: RCU is broken. So is a reader that sees `mbtest == 0`.
//!
//! Each publication also gives the slot a heap-allocated [`Tag`], freed by the writer a grace period
//! after the slot is replaced, as a real RCU user frees what it unpublished: readers check its alive
//! word at the end of their section. Every binary that includes this file runs under
//! `rcu_test_support::PoisonAlloc`, so a tag freed too early reads as poison, never as a recycled
//! block; under `--cfg rcu_broken_gp` (the negative control) retired tags are only marked dead and
//! parked until every reader has been joined, so the broken run reads no freed memory. Each run is
//! perturbed (`rcu_test_support::perturb`): signals pause random threads at random points.

use std::fmt;
use std::hint::black_box;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rcu_core::raw::{rcu_assign_pointer, rcu_dereference};
use rcu_core::{RcuHead, container_of};
use rcu_test_support::{AliveWord, PoisonAlloc};

#[global_allocator]
static ALLOC: PoisonAlloc = PoisonAlloc::new();

/// Number of slots in the pipeline (`RCU_STRESS_PIPE_LEN`).
pub const PIPE_LEN: usize = 10;

/// Histogram buckets: ages 0..PIPE_LEN, with everything larger clamped into the last one.
const BUCKETS: usize = PIPE_LEN + 1;

/// How many poll attempts the [`GpMethod::Poll`] writer makes before it falls back to
/// `cond_synchronize_rcu` (so that a run without fake writers still makes progress).
const POLL_ATTEMPTS: u32 = 10_000;

/// Parameters of one torture run.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long the run lasts unless a violation stops it earlier.
    pub duration: Duration,
    /// Number of reader threads.
    pub readers: usize,
    /// Number of threads that only call `synchronize_rcu` in a loop.
    pub fake_writers: usize,
    /// Busy-loop iterations inside each reader's nested section (QEMU uses 100). Longer sections make a
    /// broken grace period easier to catch.
    pub reader_spin: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            duration: Duration::from_secs(3),
            readers: 2,
            fake_writers: 2,
            reader_spin: 100,
        }
    }
}

/// The ways the writer waits for a grace period; it rotates through all of them.
#[derive(Clone, Copy, Debug)]
enum GpMethod {
    /// `synchronize_rcu()`.
    Synchronize,
    /// `call_rcu` with a closure that completes a handshake the writer blocks on.
    CallRcu,
    /// The intrusive `call_rcu1` with an embedded [`RcuHead`], same handshake.
    CallRcu1,
    /// `start_poll_synchronize_rcu` then `poll_state_synchronize_rcu` in a loop with `yield_now`.
    Poll,
    /// `start_poll_synchronize_rcu` then `cond_synchronize_rcu`.
    Cond,
}

const METHODS: [GpMethod; 5] = [
    GpMethod::Synchronize,
    GpMethod::CallRcu,
    GpMethod::CallRcu1,
    GpMethod::Poll,
    GpMethod::Cond,
];

/// What one run observed.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// `histogram[age]`: how many reads saw a slot of that age (the last bucket holds ages >= 10).
    pub histogram: [u64; BUCKETS],
    /// Reads that saw `mbtest == 0` (a freed slot) or a pointer outside the pipeline.
    pub mberrors: u64,
    /// Reads where `read_ongoing()` was false inside the outer section after the inner guard dropped.
    pub nesting_errors: u64,
    /// Grace-period API answers that contradict each other (e.g. `poll_state_synchronize_rcu` false
    /// right after `cond_synchronize_rcu` returned for the same state).
    pub api_errors: u64,
    /// Reads whose slot's [`Tag`] was gone or not alive at the end of the section.
    pub dead_tags: u64,
    /// The alive word of the last such tag (`None`: the slot had no tag any more).
    pub last_dead_tag_word: Option<u64>,
    /// Completed read-side critical sections.
    pub reads: u64,
    /// Completed writer updates.
    pub updates: u64,
    /// Updates per grace-period method, in the order of [`GpMethod`].
    pub updates_by_method: [u64; METHODS.len()],
    /// Total time the writer spent waiting for grace periods, per method.
    pub wait_by_method: [Duration; METHODS.len()],
    /// `synchronize_rcu` calls made by the fake writers.
    pub fake_syncs: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Outcome {
    /// Number of observed RCU violations; the run fails if this is not zero.
    pub fn violations(&self) -> u64 {
        self.histogram[2..].iter().sum::<u64>()
            + self.mberrors
            + self.nesting_errors
            + self.api_errors
            + self.dead_tags
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "n_reads: {} n_updates: {} n_fake_syncs: {} n_mberror: {} n_nesting_errors: {} \
             n_api_errors: {} n_dead_tags: {} duration: {:.3}s",
            self.reads,
            self.updates,
            self.fake_syncs,
            self.mberrors,
            self.nesting_errors,
            self.api_errors,
            self.dead_tags,
            self.elapsed.as_secs_f64()
        )?;
        if self.dead_tags > 0 {
            match self.last_dead_tag_word {
                Some(word) => writeln!(
                    f,
                    "last dead tag: alive word {word:#018x}, {}",
                    rcu_test_support::alive::describe(word)
                )?,
                None => writeln!(f, "last dead tag: the slot's tag was already unlinked")?,
            }
        }
        write!(f, "updates by method (mean wait):")?;
        for ((method, n), wait) in METHODS
            .iter()
            .zip(self.updates_by_method)
            .zip(self.wait_by_method)
        {
            let mean = wait
                .checked_div(u32::try_from(n).unwrap_or(u32::MAX))
                .unwrap_or_default();
            write!(f, " {method:?}={n} ({mean:.1?})")?;
        }
        writeln!(f)?;
        write!(f, "rcu_stress_count:")?;
        for n in self.histogram {
            write!(f, " {n}")?;
        }
        if self.violations() != 0 {
            write!(f, " !!! RCU grace-period violation")?;
        }
        Ok(())
    }
}

/// One pipeline element (`struct rcu_stress`).
#[derive(Debug)]
struct Slot {
    pipe_count: AtomicU64,
    mbtest: AtomicU32,
    /// The tag of the slot's current publication (null once retired); see the module docs.
    tag: AtomicPtr<Tag>,
}

/// A heap object published with a slot and freed a grace period after the slot is replaced.
#[derive(Debug)]
struct Tag {
    alive: AliveWord,
}

/// The writer's side of the tags: publishes them with their slots and retires them.
#[derive(Debug, Default)]
struct Tags {
    /// Under the negative control's cfg: retired tags, marked dead, freed once the readers are joined.
    #[cfg(rcu_broken_gp)]
    #[allow(
        clippy::vec_box,
        reason = "readers may still hold the tags: they must not move"
    )]
    parked: Vec<Box<Tag>>,
}

impl Tags {
    /// Gives `slot` a fresh tag, before the slot is published.
    fn publish(&mut self, slot: &Slot) {
        let fresh = Box::into_raw(Box::new(Tag {
            alive: AliveWord::new(),
        }));
        let old = slot.tag.swap(fresh, Relaxed);
        self.free(old);
    }

    /// Retires `slot`'s tag; the caller waited for a grace period since the slot was replaced. With
    /// real grace periods the tag is freed at once. Under the negative control's cfg it is only
    /// marked dead and stays linked until the slot is published again, so that a reader that still
    /// holds the slot meets the dead alive word (and no freed memory).
    fn retire(&mut self, slot: &Slot) {
        #[cfg(rcu_broken_gp)]
        // SAFETY: under this cfg tags are freed only by `free`, once unlinked, and only the writer
        // (this thread) unlinks them.
        if let Some(tag) = unsafe { slot.tag.load(Relaxed).as_ref() } {
            tag.alive.kill();
        }
        #[cfg(not(rcu_broken_gp))]
        self.free(slot.tag.swap(ptr::null_mut(), Relaxed));
    }

    /// Frees (or, under the negative control's cfg, parks) a tag just unlinked from its slot.
    fn free(&mut self, tag: *mut Tag) {
        if tag.is_null() {
            return;
        }
        // SAFETY: `tag` came from `Box::into_raw` in `publish` and was just unlinked from its slot,
        // so this is its only owner. Readers that loaded it did so inside a section that began
        // before the slot was replaced, and the writer waited for a grace period since then, which
        // ended every such section (with broken grace periods they may still read it: it is parked,
        // not freed, below; at the end of the run every reader has been joined).
        let tag = unsafe { Box::from_raw(tag) };
        #[cfg(rcu_broken_gp)]
        {
            tag.alive.kill();
            self.parked.push(tag);
        }
        #[cfg(not(rcu_broken_gp))]
        drop(tag);
    }
}

#[derive(Debug)]
struct Pipeline {
    slots: [Slot; PIPE_LEN],
    current: AtomicPtr<Slot>,
}

impl Pipeline {
    fn slot_ptr(&self, index: usize) -> *mut Slot {
        // Only ever used through shared references (all fields are atomics); `AtomicPtr` wants `*mut`.
        ptr::from_ref(&self.slots[index]).cast_mut()
    }

    /// The index of the slot `p` points to, or `None` for a pointer outside the pipeline. Looking the
    /// slot up by address (instead of dereferencing `p`) keeps the engine free of `unsafe`, and turns a
    /// garbage pointer into a reported error rather than UB.
    fn index_of(&self, p: *const Slot) -> Option<usize> {
        self.slots.iter().position(|s| ptr::eq(s, p))
    }
}

/// Stop flag with a wake-up for the controlling thread, set at the deadline or on the first violation.
#[derive(Debug, Default)]
struct Stop {
    flag: AtomicBool,
    failed: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    fn stopped(&self) -> bool {
        self.flag.load(Relaxed)
    }

    fn report_failure(&self) {
        self.flag.store(true, Relaxed);
        *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cv.notify_all();
    }

    /// Blocks until `deadline` or a reported failure, then raises the flag for everyone.
    fn wait_until(&self, deadline: Instant) {
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        while !*failed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            failed = self
                .cv
                .wait_timeout(failed, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        self.flag.store(true, Relaxed);
    }
}

/// One-shot completion: the grace-period callback sets it, the writer blocks on it.
#[derive(Debug, Default)]
struct Completion {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Completion {
    fn complete(&self) {
        *self.done.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cv.notify_one();
    }

    fn wait(&self) {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        while !*done {
            done = self.cv.wait(done).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A heap object queued with `call_rcu1`, recovered in [`intrusive_done`] with `container_of!`.
#[derive(Debug)]
struct IntrusiveWait {
    head: RcuHead,
    completion: Arc<Completion>,
}

/// # Safety
///
/// `head` must be the `head` field of an `IntrusiveWait` leaked with `Box::into_raw` by
/// [`wait_call_rcu1`], and this must be the only call for it.
unsafe fn intrusive_done(head: NonNull<RcuHead>) {
    // SAFETY: per this function's contract, `head` lies in a leaked `Box<IntrusiveWait>` that nothing
    // else owns any more, so recovering and dropping the box here is the unique release of it.
    let obj = unsafe { Box::from_raw(container_of!(head, IntrusiveWait, head)) };
    obj.completion.complete();
}

fn wait_call_rcu1() {
    let completion = Arc::new(Completion::default());
    let obj = Box::into_raw(Box::new(IntrusiveWait {
        head: RcuHead::new(),
        completion: Arc::clone(&completion),
    }));
    // SAFETY: `obj` comes from `Box::into_raw`, so it is non-null and valid; `&raw mut` keeps the
    // provenance of the whole object for `container_of!`.
    let head = unsafe { NonNull::new_unchecked(&raw mut (*obj).head) };
    // SAFETY: the object stays allocated (nothing else touches the box) until `intrusive_done` frees
    // it; the head is fresh, so it is not queued twice; `intrusive_done` matches this object's type.
    unsafe { rcu_core::call_rcu1(head, intrusive_done) };
    completion.wait();
}

/// Waits for one grace period with `method`; returns false if the API contradicted itself.
fn wait_for_grace_period(method: GpMethod) -> bool {
    match method {
        GpMethod::Synchronize => rcu_core::synchronize_rcu(),
        GpMethod::CallRcu => {
            let completion = Arc::new(Completion::default());
            let signal = Arc::clone(&completion);
            rcu_core::call_rcu(move || signal.complete());
            completion.wait();
        }
        GpMethod::CallRcu1 => wait_call_rcu1(),
        GpMethod::Poll => {
            let state = rcu_core::start_poll_synchronize_rcu();
            let mut attempts = 0;
            while !rcu_core::poll_state_synchronize_rcu(state) {
                attempts += 1;
                if attempts == POLL_ATTEMPTS {
                    rcu_core::cond_synchronize_rcu(state);
                    return rcu_core::poll_state_synchronize_rcu(state);
                }
                thread::yield_now();
            }
        }
        GpMethod::Cond => {
            let state = rcu_core::start_poll_synchronize_rcu();
            rcu_core::cond_synchronize_rcu(state);
            return rcu_core::poll_state_synchronize_rcu(state);
        }
    }
    true
}

#[derive(Debug, Default)]
struct WriterTally {
    updates: u64,
    by_method: [u64; METHODS.len()],
    wait_by_method: [Duration; METHODS.len()],
    api_errors: u64,
}

fn writer(pipeline: &Pipeline, stop: &Stop, tags: &mut Tags) -> WriterTally {
    let mut tally = WriterTally::default();
    let mut current = 0;
    while !stop.stopped() {
        let previous = current;
        current = (current + 1) % PIPE_LEN;
        let slot = &pipeline.slots[current];
        slot.pipe_count.store(0, Relaxed);
        slot.mbtest.store(1, Relaxed);
        tags.publish(slot);
        // Release store: pairs with the readers' `rcu_dereference` (acquire), so a reader that sees the
        // new pointer also sees the re-initialised slot.
        rcu_assign_pointer(&pipeline.current, pipeline.slot_ptr(current));
        for (i, other) in pipeline.slots.iter().enumerate() {
            if i != current {
                // Single writer: a plain load/store pair is enough; readers only load.
                other
                    .pipe_count
                    .store(other.pipe_count.load(Relaxed) + 1, Relaxed);
            }
        }
        let method_index = (tally.updates % METHODS.len() as u64) as usize;
        let wait_start = Instant::now();
        if !wait_for_grace_period(METHODS[method_index]) {
            tally.api_errors += 1;
            stop.report_failure();
        }
        tally.wait_by_method[method_index] += wait_start.elapsed();
        tags.retire(&pipeline.slots[previous]);
        pipeline.slots[previous].mbtest.store(0, Relaxed);
        tally.updates += 1;
        tally.by_method[method_index] += 1;
    }
    tally
}

#[derive(Debug, Default)]
struct ReaderTally {
    histogram: [u64; BUCKETS],
    mberrors: u64,
    nesting_errors: u64,
    dead_tags: u64,
    last_dead_tag_word: Option<u64>,
    reads: u64,
}

fn reader(pipeline: &Pipeline, stop: &Stop, spin: u32) -> ReaderTally {
    let mut tally = ReaderTally::default();
    let mut garbage = 0u64;
    while !stop.stopped() {
        let guard = rcu_core::read_lock();
        let p = rcu_dereference(&pipeline.current);
        let (age, bad_slot, nesting_ok, tag) = match pipeline.index_of(p) {
            None => (0, true, true, Ok(())),
            Some(index) => {
                let slot = &pipeline.slots[index];
                let mut bad = slot.mbtest.load(Relaxed) == 0;
                {
                    let _inner = rcu_core::read_lock();
                    for _ in 0..spin {
                        garbage = black_box(garbage.wrapping_add(1));
                    }
                }
                // Still inside the outer section: the inner unlock must not have ended it.
                let nesting_ok = rcu_core::read_ongoing();
                let age = slot.pipe_count.load(Relaxed);
                bad |= slot.mbtest.load(Relaxed) == 0;
                // Read after the age: the writer retires the tag before the slot's age reaches 2.
                // A tag that is gone (null) was retired too.
                let tag = slot.tag.load(Relaxed);
                // SAFETY: the writer frees a slot's tag a grace period after the slot was replaced;
                // this reader loaded the slot inside the section `guard` holds, so that grace period
                // cannot end before the guard is dropped below (under the negative control's cfg
                // retired tags are parked, never freed, while readers run).
                let tag = match unsafe { tag.as_ref() } {
                    None => Err(None),
                    Some(t) if t.alive.is_alive() => Ok(()),
                    Some(t) => Err(Some(t.alive.word())),
                };
                (age, bad, nesting_ok, tag)
            }
        };
        drop(guard);
        if let Err(word) = tag {
            tally.dead_tags += 1;
            tally.last_dead_tag_word = word;
        }
        let bucket = usize::try_from(age).map_or(BUCKETS - 1, |a| a.min(BUCKETS - 1));
        tally.histogram[bucket] += 1;
        tally.reads += 1;
        tally.mberrors += u64::from(bad_slot);
        tally.nesting_errors += u64::from(!nesting_ok);
        if bucket >= 2 || bad_slot || !nesting_ok || tag.is_err() {
            stop.report_failure();
        }
    }
    tally
}

fn fake_writer(stop: &Stop) -> u64 {
    let mut calls = 0;
    while !stop.stopped() {
        rcu_core::synchronize_rcu();
        calls += 1;
    }
    calls
}

/// Runs the pipeline torture for `config.duration`, or until the first violation is observed.
pub fn run(config: &Config) -> Outcome {
    let pipeline = Pipeline {
        slots: std::array::from_fn(|i| Slot {
            pipe_count: AtomicU64::new(if i == 0 { 0 } else { PIPE_LEN as u64 }),
            mbtest: AtomicU32::new(u32::from(i == 0)),
            tag: AtomicPtr::new(ptr::null_mut()),
        }),
        current: AtomicPtr::new(ptr::null_mut()),
    };
    let mut tags = Tags::default();
    tags.publish(&pipeline.slots[0]);
    rcu_assign_pointer(&pipeline.current, pipeline.slot_ptr(0));
    let stop = Stop::default();
    let _perturb = rcu_test_support::perturb::start();
    let start = Instant::now();
    let (readers, writer, fake_syncs) = thread::scope(|s| {
        let spawn_err = "failed to spawn a torture thread";
        let readers: Vec<_> = (0..config.readers)
            .map(|i| {
                thread::Builder::new()
                    .name(format!("torture-reader-{i}"))
                    .spawn_scoped(s, || reader(&pipeline, &stop, config.reader_spin))
                    .expect(spawn_err)
            })
            .collect();
        let fakes: Vec<_> = (0..config.fake_writers)
            .map(|i| {
                thread::Builder::new()
                    .name(format!("torture-fake-writer-{i}"))
                    .spawn_scoped(s, || fake_writer(&stop))
                    .expect(spawn_err)
            })
            .collect();
        let writer = thread::Builder::new()
            .name("torture-writer".into())
            .spawn_scoped(s, || writer(&pipeline, &stop, &mut tags))
            .expect(spawn_err);
        stop.wait_until(start + config.duration);
        let join_err = "a torture thread panicked";
        (
            readers
                .into_iter()
                .map(|h| h.join().expect(join_err))
                .collect::<Vec<_>>(),
            writer.join().expect(join_err),
            fakes
                .into_iter()
                .map(|h| h.join().expect(join_err))
                .sum::<u64>(),
        )
    });
    // Every reader has been joined: free the tags still linked (and, under the negative control's
    // cfg, the parked ones, when `tags` goes out of scope).
    for slot in &pipeline.slots {
        tags.free(slot.tag.swap(ptr::null_mut(), Relaxed));
    }
    let mut outcome = Outcome {
        histogram: [0; BUCKETS],
        mberrors: 0,
        nesting_errors: 0,
        api_errors: writer.api_errors,
        dead_tags: 0,
        last_dead_tag_word: None,
        reads: 0,
        updates: writer.updates,
        updates_by_method: writer.by_method,
        wait_by_method: writer.wait_by_method,
        fake_syncs,
        elapsed: start.elapsed(),
    };
    for r in readers {
        for (total, n) in outcome.histogram.iter_mut().zip(r.histogram) {
            *total += n;
        }
        outcome.mberrors += r.mberrors;
        outcome.nesting_errors += r.nesting_errors;
        outcome.dead_tags += r.dead_tags;
        outcome.last_dead_tag_word = r.last_dead_tag_word.or(outcome.last_dead_tag_word);
        outcome.reads += r.reads;
    }
    outcome
}
