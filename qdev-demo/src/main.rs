//! `qdev-demo`: runs the seed commit's hot-plug vs I/O-thread scenario, or the interactive monitor.
//! See `qdev-demo --help`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use qdev_demo::cli::{CliError, Command, USAGE, parse_args};
use qdev_demo::config::ScenarioConfig;
use qdev_demo::machine::drain_rcu_callbacks;
use qdev_demo::monitor::{Monitor, MonitorCommand, parse_command};
use qdev_demo::scenario::run_scenario;

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run { config, json }) => run(&config, json),
        Ok(Command::Monitor { realize_cost }) => monitor(realize_cost),
        Err(CliError(msg)) => {
            eprintln!("qdev-demo: {msg}\nTry 'qdev-demo --help'.");
            ExitCode::from(2)
        }
    }
}

fn run(config: &ScenarioConfig, json: bool) -> ExitCode {
    let tty = std::io::stdout().is_terminal();
    let summary = run_scenario(config, |status| {
        if tty {
            print!("\r{status}\x1b[K");
            let _ = std::io::stdout().flush();
        }
    });
    if tty {
        println!();
    }
    if json {
        println!("{}", summary.to_json());
    } else {
        print!("{}", summary.to_text());
    }
    if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
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
                    println!("{line}");
                }
            }
        })
    };
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!("qdev-demo monitor: type 'help' for commands");
    }
    let mut errors = 0u32;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("(qdev) ");
            let _ = std::io::stdout().flush();
        }
        let line = match lines.next() {
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                eprintln!("error reading stdin: {e}");
                break;
            }
            None => break,
        };
        match parse_command(&line) {
            Ok(None) => {}
            Ok(Some(cmd)) => match mon.execute(&cmd) {
                Ok(out) => {
                    println!("{out}");
                    if cmd == MonitorCommand::Quit {
                        break;
                    }
                }
                Err(e) => {
                    errors += 1;
                    println!("Error: {e}");
                }
            },
            Err(e) => {
                errors += 1;
                println!("Error: {e}");
            }
        }
    }
    // Let pending grace periods finish so every DEVICE_DELETED is printed before exiting.
    drain_rcu_callbacks();
    stop.store(true, Ordering::Relaxed);
    let _ = events.join();
    while let Some(line) = printer.next_line(Duration::ZERO) {
        println!("{line}");
    }
    drop(mon);
    drain_rcu_callbacks();
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
