//! A `call_rcu` flood on a busy machine: `PRODUCERS` threads queue callbacks that free a boxed
//! 64-byte payload as fast as they can, one reader holds `SECTION_US`-long sections in a loop, and
//! `SPINNERS` threads spin, for `SECONDS`. Prints throughput, the peak of pending callbacks (sampled
//! every 100 µs, and the default domain's exact queue peak) and the peak RSS (`VmHWM`).
//!
//! ```text
//! cargo run --release -p rcu-core --example callback_flood -- [PRODUCERS SECONDS SECTION_US SPINNERS [never-wait]]
//! ```
//! Defaults: 4 producers, 4 s, 1000 µs sections, 2 spinners. `never-wait` sets
//! `CallbackLimit::DEFAULT.producers_never_wait()` (QEMU / liburcu behaviour) for comparison.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (producers, seconds, section_us, spinners) =
        (arg(0, 4), arg(1, 4), arg(2, 1000), arg(3, 2));
    let never_wait = args.get(4).is_some_and(|a| a == "never-wait");
    if never_wait {
        rcu_core::set_callback_limit(rcu_core::CallbackLimit::DEFAULT.producers_never_wait()); // NEW_API
    }
    let stop = Arc::new(AtomicBool::new(false));
    let queued = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for _ in 0..producers {
        let (stop, queued) = (stop.clone(), queued.clone());
        threads.push(thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let payload = Box::new([n; 8]);
                rcu_core::call_rcu(move || drop(payload));
                n += 1;
            }
            queued.fetch_add(n, Ordering::Relaxed);
        }));
    }
    {
        let stop = stop.clone();
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _g = rcu_core::read_lock();
                let start = Instant::now();
                while start.elapsed() < Duration::from_micros(section_us) {
                    std::hint::spin_loop();
                }
            }
        }));
    }
    for _ in 0..spinners {
        let stop = stop.clone();
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }));
    }
    let start = Instant::now();
    let mut peak_pending = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        peak_pending = peak_pending.max(rcu_core::stats().callbacks_pending());
        thread::sleep(Duration::from_micros(100));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let stats = rcu_core::stats();
    let total = queued.load(Ordering::Relaxed);
    println!(
        "producers {producers} seconds {seconds} section_us {section_us} spinners {spinners} \
         never_wait {never_wait}"
    );
    println!("throughput_m_per_s {:.2}", total as f64 / elapsed / 1e6);
    println!("peak_pending_sampled {peak_pending}");
    println!("peak_queued_exact {}", stats.callbacks_queued_peak); // NEW_API
    println!("producer_waits {}", stats.callback_producer_waits); // NEW_API
    println!("flood_peak_rss_mib {:.1}", vm_hwm_kib() as f64 / 1024.0);
    rcu_core::rcu_barrier();
}
