//! The `qdev-demo` binary: the default comparison (table, verdict, legend, 80 columns), Ctrl-C
//! (SIGINT prints the summary of what ran, exit 130), the flags (`--version`, `--duration 2h`,
//! `--json` with its schema version), bad input (one line, exit 2, never a panic) and the monitor.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn qdev_demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qdev-demo"))
        .args(args)
        .output()
        .expect("run qdev-demo")
}

/// Latencies in human units: nanoseconds only below 1000 (then µs, ms, s).
fn assert_human_units(text: &str) {
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.windows(2) {
        if pair[1] == "ns" {
            assert!(
                pair[0].len() <= 3,
                "raw nanoseconds '{} ns' in {text}",
                pair[0]
            );
        }
    }
}

fn assert_fits_80_columns(text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    for args in [
        &["--iothreads", "0"][..],
        &["--iothreads", "-3"],
        &["--duration", "-1"],
        &["--duration", "100000000"],
        &["--duration", "soon"],
        &["--duration", "abc"],
        &["--disks", "0"],
        &["--sync", "mutex"],
        &["--realize-cost", "5s"],
        &["--hotplug-interval"],
        &["--what"],
        &["stray"],
        &["monitor", "--json"],
    ] {
        let out = qdev_demo(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("qdev-demo: "), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = qdev_demo(&["--duration", "abc"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("'abc' is not a duration (e.g. 5s"),
        "{out:?}"
    );
}

/// Output to a closed pipe (`qdev-demo | head -0`) and a non-UTF-8 argument must not panic.
#[test]
fn closed_stdout_and_odd_arguments_do_not_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qdev-demo"))
        .args(["--sync", "bql", "--duration", "50ms", "--iothreads", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn qdev-demo");
    drop(child.stdout.take()); // the reader goes away before anything is printed
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let out = Command::new(env!("CARGO_BIN_EXE_qdev-demo"))
            .args(["--sync".as_ref(), std::ffi::OsStr::from_bytes(b"\xff")])
            .output()
            .expect("run qdev-demo");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn help_and_version_exit_0() {
    let out = qdev_demo(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--duration",
        "--iothreads",
        "--disks",
        "--hotplug-interval",
        "--realize-cost",
        "--repeats",
        "--sync",
        "--json",
        "BQL",
        "I/O thread",
        "main loop",
        "grace period",
        "LUN",
        "REPORT LUNS",
        "DEVICE_DELETED",
        "realize",
        "2h",
        "130",
    ] {
        assert!(text.contains(word), "help mentions {word}");
    }
    assert_fits_80_columns(&text);
    let out = qdev_demo(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        concat!("qdev-demo ", env!("CARGO_PKG_VERSION"))
    );
}

/// The default run compares the three modes, 3 runs each interleaved: two tables with one row
/// per mode, a verdict naming every mode, the legend of exactly the terms used.
#[test]
fn default_run_compares_the_three_modes() {
    let out = qdev_demo(&[
        "--duration",
        "150ms",
        "--iothreads",
        "1",
        "--realize-cost",
        "20us",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_fits_80_columns(&text);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| ["rcu ", "bql ", "rwlock "].iter().any(|m| l.starts_with(m)))
        .collect();
    assert_eq!(rows.len(), 6, "{text}");
    assert!(
        text.contains("Each mode ran 3 times for 150 ms, interleaved."),
        "{text}"
    );
    assert!(
        text.contains("mode    waited (range)              wait p50    wait p99     longest"),
        "{text}"
    );
    assert!(text.contains("rcu     0% (0%-0%)"), "{text}");
    assert!(text.contains("Safety: OK in 9 runs"), "{text}");
    assert!(
        text.contains("\nRCU: lookups never waited for a lock (0 of "),
        "{text}"
    );
    assert!(
        text.contains("\nBQL: ") && text.contains("\nrwlock: "),
        "{text}"
    );
    assert!(text.contains("Per CPU-second, RCU served "), "{text}");
    for term in ["I/O thread", "main loop", "BQL", "hot-plug", "grace period"] {
        assert!(
            text.contains(&format!("\n  {term}  ")),
            "legend explains {term}: {text}"
        );
    }
    for absent in ["REPORT LUNS", "I_T nexus", "BusChild", "corrected", " GPs"] {
        assert!(!text.contains(absent), "{absent} does not appear: {text}");
    }
    assert_human_units(&text);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("qdev-demo: running --sync").count(),
        9,
        "{stderr}"
    );
}

#[test]
fn comparison_json_is_versioned() {
    let out = qdev_demo(&[
        "--duration",
        "100ms",
        "--iothreads",
        "1",
        "--realize-cost",
        "20us",
        "--repeats",
        "2",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["schema_version"], 2);
    assert_eq!(
        (v["kind"].clone(), v["repeats"].clone()),
        ("comparison".into(), 2.into())
    );
    let runs = v["runs"].as_array().unwrap();
    let modes: Vec<_> = runs.iter().map(|r| r["mode"].clone()).collect();
    assert_eq!(modes, ["rcu", "bql", "rwlock", "rcu", "bql", "rwlock"]);
    for r in runs {
        assert!(r["lookups_waited"].is_u64(), "{r}");
        for key in ["total", "p50", "p99", "max"] {
            assert!(r["lock_wait_ns"][key].is_u64(), "{key}: {r}");
        }
        assert!(r["requests_per_cpu_sec"].is_f64(), "{r}");
        if r["mode"] == "rcu" {
            assert_eq!(r["lookups_waited"], 0, "{r}");
            assert_eq!(r["lock_wait_ns"]["max"], 0, "{r}");
        }
    }
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("RCU: lookups never waited")
    );
    assert_eq!(
        v["runs"][1]["lookups_unrealized_skipped"], 0,
        "the BQL hides mid-plug disks"
    );
}

#[test]
fn short_json_run() {
    let out = qdev_demo(&[
        "--sync",
        "rcu",
        "--duration",
        "300ms",
        "--iothreads",
        "1",
        "--realize-cost",
        "20us",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.trim();
    assert!(
        !line.contains('\n') && !line.contains('\r'),
        "one line, no progress bar on a pipe: {line}"
    );
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(
        (v["schema_version"].clone(), v["kind"].clone()),
        (2.into(), "run".into())
    );
    assert_eq!(v["mode"], "rcu");
    assert_eq!(v["hotplug_interval_us"], 2000);
    assert_eq!(v["lookups_waited"], 0, "RCU lookups take no lock");
    assert_eq!(v["lock_wait_ns"]["total"], 0);
    assert_eq!(v["interrupted"], false);
    assert_eq!(v["safety_ok"], true);
    for key in ["p50_ns", "p99_ns", "max_ns", "samples"] {
        assert!(v["lookup_latency_corrected"][key].is_u64(), "{key}: {line}");
    }
    assert!(
        v["main_loop"]["bql_held_fraction_when_runnable"].is_f64(),
        "{line}"
    );
    assert!(v["requests"].as_u64().unwrap() > 0);
}

#[test]
fn text_run_prints_the_summary() {
    let out = qdev_demo(&[
        "--duration",
        "200ms",
        "--iothreads",
        "1",
        "--sync",
        "rwlock",
        "--no-hotplug",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_fits_80_columns(&text);
    assert!(
        text.starts_with("qdev-demo --sync rwlock: ")
            && text.contains("no hot-plug")
            && text.contains("lookups         0 waited for a lock")
            && text.contains("lookup time     p50 ")
            && !text.contains("corrected")
            && text.contains("mid-plug skips  0 (disk linked, not yet realized")
            && text.contains("safety checks   OK"),
        "{text}"
    );
}

/// Starts the binary, waits for its "running" marker on stderr (no sleep), sends SIGINT and
/// returns what it printed and its exit status (within a bounded time).
fn interrupt(args: &[&str]) -> (i32, String) {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_qdev-demo"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn qdev-demo");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("read the marker");
    assert!(line.starts_with("qdev-demo: running --sync rcu"), "{line}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    // Reading to the end and waiting block until the child exits: do it on a thread and bound
    // the wait.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let read = child.stdout.take().map(|mut o| o.read_to_string(&mut out));
        let code = child.wait().ok().and_then(|s| s.code());
        let _ = tx.send((code, out, read.is_some()));
    });
    let (code, out, read) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("qdev-demo did not stop within 60 s of SIGINT");
    assert!(read);
    (code.unwrap_or(-1), out)
}

#[test]
fn ctrl_c_prints_the_comparison_so_far_and_exits_130() {
    let (code, out) = interrupt(&[
        "--duration",
        "2h",
        "--iothreads",
        "1",
        "--realize-cost",
        "20us",
    ]);
    assert_eq!(code, 130, "{out}");
    assert_fits_80_columns(&out);
    assert!(out.contains("Interrupted after 1 of 9 runs of 2h"), "{out}");
    // The signal may land while the disks are still being realized (then the row says so).
    assert!(out.lines().any(|l| l.starts_with("rcu*")), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("bql ")), "{out}");
    assert!(
        out.contains("Interrupted before RCU and the BQL both ran: no throughput ratio")
            || out.contains("Interrupted before any mode ran: nothing to compare"),
        "{out}"
    );
}

/// Ctrl-C while the initial disks are realized (1 s each, before the timer starts) ends the run
/// after the current realize.
#[test]
fn ctrl_c_during_realize_stops_at_once() {
    let started = std::time::Instant::now();
    let (code, out) = interrupt(&["--realize-cost", "1s", "--duration", "1h", "--disks", "64"]);
    assert_eq!(code, 130, "{out}");
    assert!(
        out.contains("rcu*    interrupted while its disks were realized"),
        "{out}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "64 realizes of 1 s did not all run"
    );
}

#[test]
fn ctrl_c_prints_a_single_run_summary_and_exits_130() {
    let (code, out) = interrupt(&[
        "--sync",
        "rcu",
        "--duration",
        "1h",
        "--iothreads",
        "1",
        "--json",
    ]);
    assert_eq!(code, 130, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["interrupted"], true);
    assert_eq!(v["safety_ok"], true);
    assert!(v["duration_s"].as_f64().unwrap() < 600.0);
}

#[test]
fn monitor_shows_device_deleted_after_device_del() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qdev-demo"))
        .args(["monitor", "--realize-cost", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn monitor");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"device_add scsi-hd,id=disk1,drive=d1,lun=4\n\
              info qtree\n\
              device_del disk1\n\
              device_del disk1\n\
              frobnicate\n\
              info stats\n\
              quit\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("OK: disk1 plugged at channel 0 scsi-id 0 lun 4"),
        "{text}"
    );
    assert!(text.contains("dev: scsi-hd, id \"disk1\""), "{text}");
    assert!(text.contains("Error: Device 'disk1' not found"), "{text}");
    assert!(
        text.contains("Error: unknown command 'frobnicate'"),
        "{text}"
    );
    assert!(text.contains("DEVICE_DELETED events:"), "{text}");
    assert!(
        text.contains(r#"{"event":"DEVICE_DELETED","data":{"device":"disk1","path":"/machine/peripheral/disk1"}"#),
        "{text}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the two errors give exit status 1"
    );
}
