//! The interactive monitor (`qdev-demo monitor`): a few HMP/QMP-like commands read from stdin, so
//! a person can watch DEVICE_DELETED arrive a grace period after `device_del`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::hw::scsi::bus::ScsiDeviceExt;
use crate::machine::{DeviceAddOptions, Machine};
use crate::qdev::events::{EventRecord, QmpEvent};

/// Help text of the monitor.
pub const MONITOR_HELP: &str = "\
commands:
  device_add scsi-hd,id=ID,drive=DRIVE[,scsi-id=N][,lun=N][,channel=0][,bus=scsi0.0]
  device_del ID
  drive_add NAME[,broken=on]      (drives d0-d7 exist; a broken drive fails realize)
  info qtree | info stats
  help | quit";

/// A parsed monitor command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorCommand {
    /// `device_add OPTS`.
    DeviceAdd(DeviceAddOptions),
    /// `device_del ID`.
    DeviceDel(String),
    /// `drive_add NAME[,broken=on]`.
    DriveAdd {
        /// Drive name.
        name: String,
        /// Whether opening it fails.
        broken: bool,
    },
    /// `info qtree`.
    InfoQtree,
    /// `info stats`.
    InfoStats,
    /// `help`.
    Help,
    /// `quit` (or end of input).
    Quit,
}

/// Parses one input line; `Ok(None)` for a blank line or a `#` comment.
///
/// ```
/// use qdev_demo::machine::monitor::{MonitorCommand, parse_command};
/// assert_eq!(parse_command("device_del disk1"), Ok(Some(MonitorCommand::DeviceDel("disk1".into()))));
/// assert_eq!(parse_command("  "), Ok(None));
/// assert!(parse_command("info blocks").is_err());
/// ```
pub fn parse_command(line: &str) -> Result<Option<MonitorCommand>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (cmd, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(c, r)| (c, r.trim()));
    let no_args = |c: MonitorCommand| {
        if rest.is_empty() {
            Ok(Some(c))
        } else {
            Err(format!("'{cmd}' takes no arguments"))
        }
    };
    match cmd {
        "device_add" if rest.is_empty() => {
            Err("usage: device_add scsi-hd,id=ID,drive=DRIVE[,scsi-id=N][,lun=N]".to_owned())
        }
        "device_add" => rest
            .parse()
            .map(|o| Some(MonitorCommand::DeviceAdd(o)))
            .map_err(|e| e.to_string()),
        "device_del" if rest.is_empty() || rest.contains(char::is_whitespace) => {
            Err("usage: device_del ID".to_owned())
        }
        "device_del" => Ok(Some(MonitorCommand::DeviceDel(rest.to_owned()))),
        "drive_add" => {
            let mut parts = rest.split(',');
            let name = parts.next().unwrap_or_default().to_owned();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err("usage: drive_add NAME[,broken=on]".to_owned());
            }
            let mut broken = false;
            for p in parts {
                match p {
                    "broken=on" => broken = true,
                    "broken=off" => broken = false,
                    other => return Err(format!("drive_add: unknown option '{other}'")),
                }
            }
            Ok(Some(MonitorCommand::DriveAdd { name, broken }))
        }
        "info" => match rest {
            "qtree" => Ok(Some(MonitorCommand::InfoQtree)),
            "stats" => Ok(Some(MonitorCommand::InfoStats)),
            other => Err(format!("info: unknown item '{other}' (qtree or stats)")),
        },
        "help" | "?" => no_args(MonitorCommand::Help),
        "quit" | "q" => no_args(MonitorCommand::Quit),
        other => Err(format!("unknown command '{other}' (try 'help')")),
    }
}

/// The monitor: a machine with a controller, drives `d0`-`d7` and `disk0` plugged, and the
/// times of recent `device_del`s (to show how long DEVICE_DELETED took).
#[derive(Debug)]
pub struct Monitor {
    machine: Machine,
    deleted_at: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Monitor {
    /// A monitor whose disks spend `realize_cost` in realize.
    ///
    /// ```
    /// use qdev_demo::machine::monitor::{Monitor, MonitorCommand};
    /// use std::time::Duration;
    /// let mut mon = Monitor::new(Duration::ZERO);
    /// let out = mon.execute(&MonitorCommand::DeviceDel("disk0".into())).unwrap();
    /// assert!(out.contains("DEVICE_DELETED will follow"));
    /// ```
    pub fn new(realize_cost: Duration) -> Self {
        let machine = Machine::builder()
            .realize_cost(realize_cost)
            .drives(8)
            .event_queue(true)
            .build();
        machine
            .device_add_str("scsi-hd,id=disk0,drive=d0,scsi-id=0,lun=0")
            .expect("the first disk plugs into an empty bus");
        Self {
            machine,
            deleted_at: Arc::default(),
        }
    }

    /// The machine.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// Runs one command and returns its output, or an error message.
    pub fn execute(&mut self, cmd: &MonitorCommand) -> Result<String, String> {
        match cmd {
            MonitorCommand::DeviceAdd(opts) => {
                let dev = self.machine.device_add(opts).map_err(|e| e.to_string())?;
                let a = dev.scsi_address().expect("scsi-hd has an address");
                Ok(format!(
                    "OK: {} plugged at channel {} scsi-id {} lun {}",
                    dev.id().unwrap_or(dev.canonical_path()),
                    a.channel,
                    a.id,
                    a.lun
                ))
            }
            MonitorCommand::DeviceDel(id) => {
                self.machine.device_del(id).map_err(|e| e.to_string())?;
                self.deleted_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.clone(), Instant::now());
                Ok(format!(
                    "OK: {id} unplugged; DEVICE_DELETED will follow after a grace period"
                ))
            }
            MonitorCommand::DriveAdd { name, broken } => {
                self.machine.drive_add(name, *broken)?;
                Ok(format!(
                    "OK: drive {name}{}",
                    if *broken { " (broken)" } else { "" }
                ))
            }
            MonitorCommand::InfoQtree => Ok(self.machine.info_qtree()),
            MonitorCommand::InfoStats => Ok(self.info_stats()),
            MonitorCommand::Help => Ok(MONITOR_HELP.to_owned()),
            MonitorCommand::Quit => Ok("bye".to_owned()),
        }
    }

    fn info_stats(&self) -> String {
        let ctx = self.machine.ctx();
        let c = ctx.counters();
        let rcu = rcu_core::stats();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "disks on {}: {}",
            self.machine.scsi_bus().name(),
            self.machine.scsi_bus().num_children()
        );
        let _ = writeln!(
            s,
            "BusChild nodes: {} added, {} removed, {} freed",
            c.children_added.load(Ordering::Relaxed),
            c.children_removed.load(Ordering::Relaxed),
            c.children_freed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "devices freed: {}",
            c.devices_freed.load(Ordering::Relaxed)
        );
        let _ = writeln!(s, "DEVICE_DELETED events: {}", ctx.events().emitted());
        let _ = write!(
            s,
            "rcu: {} grace periods, {} callbacks pending",
            rcu.grace_periods,
            rcu.callbacks_pending()
        );
        s
    }

    /// A printer for events that arrive later, usable from another thread.
    pub fn event_printer(&self) -> EventPrinter {
        EventPrinter {
            ctx: Arc::clone(self.machine.ctx()),
            deleted_at: Arc::clone(&self.deleted_at),
        }
    }
}

/// Formats events of a [`Monitor`]'s machine as QMP JSON lines.
#[derive(Debug, Clone)]
pub struct EventPrinter {
    ctx: Arc<crate::qdev::context::QdevContext>,
    deleted_at: Arc<Mutex<HashMap<String, Instant>>>,
}

impl EventPrinter {
    /// Waits up to `timeout` for the next event and formats it.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.ctx
            .events()
            .next_timeout(timeout)
            .map(|rec| self.format(&rec))
    }

    fn format(&self, rec: &EventRecord) -> String {
        let QmpEvent::DeviceDeleted { device, path } = &rec.event;
        let since = device
            .as_ref()
            .and_then(|d| {
                self.deleted_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(d)
            })
            .map(|t| rec.at.saturating_duration_since(t));
        let line = QmpEventLine {
            event: "DEVICE_DELETED",
            data: DeviceDeletedData {
                device: device.as_deref(),
                path,
            },
            ms_after_device_del: since.map(|d| (d.as_secs_f64() * 1e5).round() / 100.0),
        };
        serde_json::to_string(&line).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// A QMP event as the monitor prints it, one JSON object per line.
#[derive(Serialize)]
struct QmpEventLine<'a> {
    event: &'static str,
    data: DeviceDeletedData<'a>,
    /// Not QMP: how long after its `device_del` the event came (a grace period and more).
    #[serde(skip_serializing_if = "Option::is_none")]
    ms_after_device_del: Option<f64>,
}

/// `DEVICE_DELETED`'s data.
#[derive(Serialize)]
struct DeviceDeletedData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<&'a str>,
    path: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_every_command() {
        assert!(matches!(
            parse_command("device_add scsi-hd,id=a,drive=d1"),
            Ok(Some(MonitorCommand::DeviceAdd(_)))
        ));
        assert_eq!(
            parse_command("drive_add x,broken=on"),
            Ok(Some(MonitorCommand::DriveAdd {
                name: "x".into(),
                broken: true
            }))
        );
        assert_eq!(
            parse_command("info qtree"),
            Ok(Some(MonitorCommand::InfoQtree))
        );
        assert_eq!(
            parse_command("info stats"),
            Ok(Some(MonitorCommand::InfoStats))
        );
        assert_eq!(parse_command("help"), Ok(Some(MonitorCommand::Help)));
        assert_eq!(parse_command("quit"), Ok(Some(MonitorCommand::Quit)));
        assert_eq!(parse_command("# note"), Ok(None));
        for bad in [
            "device_add",
            "device_add nic,id=x",
            "device_add scsi-hd,lun=-1",
            "device_del",
            "device_del a b",
            "drive_add",
            "drive_add x,ro=on",
            "info",
            "quit now",
            "reboot",
        ] {
            let result = parse_command(bad);
            let rejected = match &result {
                Err(_) => true,
                Ok(Some(MonitorCommand::DeviceAdd(o))) => o.driver != "scsi-hd",
                Ok(_) => false,
            };
            assert!(rejected, "{bad:?} gave {result:?}");
        }
    }

    #[test]
    fn device_deleted_arrives_after_grace_period() {
        let mut mon = Monitor::new(Duration::ZERO);
        let printer = mon.event_printer();
        mon.execute(&MonitorCommand::DeviceDel("disk0".into()))
            .unwrap();
        rcu_core::rcu_barrier();
        let line = printer
            .next_line(Duration::from_secs(10))
            .expect("DEVICE_DELETED");
        assert!(
            line.starts_with(r#"{"event":"DEVICE_DELETED","data":{"device":"disk0""#),
            "{line}"
        );
        assert!(line.contains("ms_after_device_del"));
        let err = mon
            .execute(&MonitorCommand::DeviceDel("disk0".into()))
            .unwrap_err();
        assert_eq!(err, "Device 'disk0' not found");
    }

    #[test]
    fn other_commands() {
        let mut mon = Monitor::new(Duration::ZERO);
        let add = |s: &str| MonitorCommand::DeviceAdd(s.parse().unwrap());
        assert!(
            mon.execute(&add("scsi-hd,id=b,drive=d1,lun=5"))
                .unwrap()
                .contains("lun 5")
        );
        assert_eq!(
            mon.execute(&add("scsi-hd,id=c,drive=d1")).unwrap_err(),
            "Drive 'd1' is already in use"
        );
        mon.execute(&MonitorCommand::DriveAdd {
            name: "bad".into(),
            broken: true,
        })
        .unwrap();
        assert!(
            mon.execute(&add("scsi-hd,id=c,drive=bad"))
                .unwrap_err()
                .contains("Could not open")
        );
        assert!(
            mon.execute(&MonitorCommand::InfoQtree)
                .unwrap()
                .contains("id \"b\"")
        );
        assert!(
            mon.execute(&MonitorCommand::InfoStats)
                .unwrap()
                .contains("disks on scsi0.0: 2")
        );
        assert!(
            mon.execute(&MonitorCommand::Help)
                .unwrap()
                .contains("device_add")
        );
        assert_eq!(mon.execute(&MonitorCommand::Quit).unwrap(), "bye");
        assert_eq!(mon.machine().scsi_bus().num_children(), 2);
    }
}
