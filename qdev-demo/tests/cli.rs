//! The `qdev-demo` binary: bad input exits with code 2 and a message (never a panic), a short
//! run succeeds, and the monitor shows DEVICE_DELETED.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn qdev_demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qdev-demo"))
        .args(args)
        .output()
        .expect("run qdev-demo")
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    for args in [
        &["--iothreads", "0"][..],
        &["--iothreads", "-3"],
        &["--duration", "-1"],
        &["--duration", "100000"],
        &["--duration", "soon"],
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
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_exits_0() {
    let out = qdev_demo(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--duration",
        "--iothreads",
        "--disks",
        "--hotplug-interval",
        "--realize-cost",
        "--sync",
        "--json",
    ] {
        assert!(text.contains(flag), "usage mentions {flag}");
    }
}

#[test]
fn short_json_run() {
    let out = qdev_demo(&[
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
        "one line, no status on a pipe: {line}"
    );
    assert!(line.starts_with('{') && line.ends_with('}'));
    for key in [
        "\"requests_per_sec\":",
        "\"hotplug_interval_us\":0,",
        "\"lookup_latency_raw\":{\"samples\":",
        "\"lookup_latency_corrected\":{\"samples\":",
        "\"p99_ns\":",
        "\"main_loop\":{\"iterations\":",
        "\"bql_held_fraction\":",
        "\"safety_ok\":true",
        "\"device_deleted_events\":",
    ] {
        assert!(line.contains(key), "{key} in {line}");
    }
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
    assert!(
        text.contains("--sync rwlock")
            && text.contains("no hot-plug")
            && text.contains("lookup latency raw (as issued)")
            && text.contains("lookup latency corrected (intended start)")
            && text.contains("-> OK"),
        "{text}"
    );
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
