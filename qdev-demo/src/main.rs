//! `qdev-demo`: compares the seed commit's hot-plug vs I/O-thread scenario under its three
//! `--sync` modes (the default), runs one mode, or the interactive monitor. See
//! `qdev-demo --help`.

use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qdev_demo::machine::drain_rcu_callbacks;
use qdev_demo::machine::monitor::{Monitor, MonitorCommand, parse_command};
use qdev_demo::qdev::sync_mode::SyncMode;
use qdev_demo::run::cli::{CliError, Command, parse_args};
use qdev_demo::run::compare::run_comparison;
use qdev_demo::run::config::ScenarioConfig;
use qdev_demo::run::scenario::{Progress, run_scenario_until};
use qdev_demo::util::units::duration;

/// `println!` that ignores write errors: a closed pipe (`qdev-demo | head -1`) must not panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that ignores write errors.
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that ignores write errors (diagnostics never panic).
macro_rules! err {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Exit status after Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    // args_os: a non-UTF-8 argument is an error message, not a panic.
    let args = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    match parse_args(args) {
        Ok(Command::Print(text)) => {
            out_raw!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run { config, json }) => run(&config, json),
        Ok(Command::Compare {
            config,
            repeats,
            json,
        }) => compare(&config, repeats, json),
        Ok(Command::Monitor { realize_cost }) => monitor(realize_cost),
        Err(CliError(msg)) => {
            err!("qdev-demo: {msg}. Try 'qdev-demo --help'.");
            ExitCode::from(2)
        }
    }
}

/// Ctrl-C sets the returned flag (the run stops and prints what ran); a second Ctrl-C exits at
/// once with status 130.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let sig = signal_hook::consts::SIGINT;
    // The conditional shutdown goes first: it exits only if the flag was already set.
    let registered = signal_hook::flag::register_conditional_shutdown(
        sig,
        i32::from(EXIT_INTERRUPTED),
        Arc::clone(&flag),
    )
    .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&flag)));
    if let Err(e) = registered {
        err!("qdev-demo: cannot catch Ctrl-C ({e}); it will end the run without a summary");
    }
    flag
}

/// The live progress bar: drawn on stderr when it is a terminal, hidden otherwise.
struct Bar {
    bar: ProgressBar,
    realizing: bool,
}

impl Bar {
    fn new(mode: SyncMode) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target).with_prefix(mode.as_str());
        Self {
            bar,
            realizing: false,
        }
    }

    fn update(&mut self, config: &ScenarioConfig, progress: Progress) {
        match progress {
            Progress::Realizing { done, total } => {
                if !self.realizing {
                    self.realizing = true;
                    self.bar
                        .set_style(style("{prefix:>6} realizing disks {pos}/{len} {wide_bar}"));
                    self.bar.set_length(total as u64);
                }
                self.bar.set_position(done as u64);
            }
            Progress::Running(status) => {
                if self.realizing || self.bar.length().is_none() {
                    self.realizing = false;
                    self.bar.set_style(style("{prefix:>6} {wide_bar} {msg}"));
                    self.bar.set_length(config.duration.as_millis() as u64);
                }
                self.bar.set_position(status.elapsed.as_millis() as u64);
                self.bar.set_message(format!(
                    "{}/{} {status}",
                    duration(status.elapsed),
                    duration(config.duration)
                ));
            }
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The marker a script (or the Ctrl-C test) can wait for before it interrupts the run.
fn announce(config: &ScenarioConfig, sync: SyncMode) {
    err!(
        "qdev-demo: running --sync {sync} for {} (Ctrl-C stops and summarizes)",
        duration(config.duration)
    );
}

/// 1 if a safety check fired (also in an interrupted run: it matters more), else 130 after
/// Ctrl-C, else 0.
fn exit_status(interrupted: bool, passed: bool) -> ExitCode {
    if !passed {
        ExitCode::from(1)
    } else if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    }
}

fn run(config: &ScenarioConfig, json: bool) -> ExitCode {
    let interrupt = interrupt_flag();
    announce(config, config.sync);
    let mut bar = Bar::new(config.sync);
    let summary = run_scenario_until(config, &interrupt, |p| bar.update(config, p));
    drop(bar);
    if json {
        out!("{}", summary.to_json());
    } else {
        out_raw!("{}", summary.to_text());
    }
    exit_status(summary.interrupted, summary.passed())
}

fn compare(config: &ScenarioConfig, repeats: usize, json: bool) -> ExitCode {
    let interrupt = interrupt_flag();
    // One bar per run; both callbacks reach it.
    let bar: RefCell<Option<Bar>> = RefCell::new(None);
    let comparison = run_comparison(
        config,
        repeats,
        &interrupt,
        |sync, _| {
            bar.replace(None);
            announce(config, sync);
            bar.replace(Some(Bar::new(sync)));
        },
        |_, p| {
            if let Some(b) = bar.borrow_mut().as_mut() {
                b.update(config, p);
            }
        },
    );
    bar.replace(None);
    if json {
        out!("{}", comparison.to_json());
    } else {
        out_raw!("{}", comparison.to_text());
    }
    exit_status(comparison.interrupted, comparison.passed())
}

fn monitor(realize_cost: Duration) -> ExitCode {
    let mut mon = Monitor::new(realize_cost);
    let printer = mon.event_printer();
    let stop = Arc::new(AtomicBool::new(false));
    let events = {
        let stop = Arc::clone(&stop);
        let printer = printer.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(line) = printer.next_line(Duration::from_millis(100)) {
                    out!("{line}");
                }
            }
        })
    };
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        out!("qdev-demo monitor: type 'help' for commands");
    }
    let mut errors = 0u32;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            out_raw!("(qdev) ");
            let _ = std::io::stdout().flush();
        }
        let line = match lines.next() {
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                err!("error reading stdin: {e}");
                break;
            }
            None => break,
        };
        match parse_command(&line) {
            Ok(None) => {}
            Ok(Some(cmd)) => match mon.execute(&cmd) {
                Ok(out) => {
                    out!("{out}");
                    if cmd == MonitorCommand::Quit {
                        break;
                    }
                }
                Err(e) => {
                    errors += 1;
                    out!("Error: {e}");
                }
            },
            Err(e) => {
                errors += 1;
                out!("Error: {e}");
            }
        }
    }
    // Let pending grace periods finish so every DEVICE_DELETED is printed before exiting.
    drain_rcu_callbacks();
    stop.store(true, Ordering::Relaxed);
    let _ = events.join();
    while let Some(line) = printer.next_line(Duration::ZERO) {
        out!("{line}");
    }
    drop(mon);
    drain_rcu_callbacks();
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
