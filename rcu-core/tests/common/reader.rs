//! A reader thread parked inside a read-side critical section until released: the tool for checking
//! what must *not* happen while a pre-existing reader is still inside.

use std::sync::mpsc;
use std::thread;

/// A thread holding a read guard of the default domain.
#[derive(Debug)]
pub struct HeldReader {
    release: mpsc::Sender<()>,
    thread: thread::JoinHandle<()>,
}

impl HeldReader {
    /// Spawns a thread named `name`, and returns once it is inside a read-side critical section.
    pub fn enter(name: &str) -> Self {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _guard = rcu_core::read_lock();
                entered_tx.send(()).unwrap();
                // An error only means the owner was dropped without `leave`: leave too.
                let _ = release_rx.recv();
            })
            .expect("cannot spawn the reader thread");
        entered_rx
            .recv()
            .expect("the reader thread died before entering its section");
        HeldReader { release, thread }
    }

    /// Lets the reader leave its section, and joins it.
    pub fn leave(self) {
        self.release.send(()).unwrap();
        self.thread.join().expect("the reader thread panicked");
    }
}
