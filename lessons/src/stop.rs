//! How a server is asked to stop: a signal, or the end of its console.
//!
//! **Signals.** Ctrl-C in a terminal sends the foreground process SIGINT;
//! `kill PID`, systemd's `systemctl stop` and a container's `docker stop`
//! send SIGTERM (and SIGKILL some seconds later if the process is still
//! there). Both end a process at once by default: no goodbye to clients, no
//! flushed log, and an exit status that says "killed". std has no API for
//! signals, so the course uses the `signal-hook` crate, and only for the two
//! signals that mean "please stop": a server started with `nohup` keeps
//! ignoring SIGHUP. [`Signals::on_signal`] turns the first signal into a call of the
//! server's own stop path (the one `/quit` takes); a second signal ends the
//! process at once, for when that path hangs.
//!
//! On Windows there is no SIGTERM. Ctrl-C in a console reaches the program
//! through the C runtime as SIGINT, which `signal-hook` catches with a flag;
//! a console window that is closed, or `taskkill /F`, still ends it at once.
//!
//! **A console that ends.** Ctrl-D at a terminal (Ctrl-Z then Enter on
//! Windows) is a person asking to stop. The end of an input that is not a
//! terminal (`< /dev/null`, a script's `&`, `nohup`, a service manager) is
//! not: it is there from the first read. [`console_ended`] keeps the two
//! apart, so that a server started without a terminal keeps serving and
//! says once how to stop it.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

/// The stack of the thread that waits for signals: it needs little.
const STACK: usize = 64 * 1024;

/// The status of a process ended by a second signal: 128 + the signal's
/// number, what a shell shows for a process the signal killed.
fn killed_status(signal: i32) -> i32 {
    128 + signal
}

impl Signals {
    // ANCHOR: on_signal
    /// Calls `stop` once, on a thread of its own, when SIGINT or SIGTERM
    /// arrives (Ctrl-C on Windows). A second signal ends the process at once,
    /// with the status a shell expects of a process the signal killed.
    pub fn on_signal(self, stop: impl FnOnce(&'static str) + Send + 'static) -> io::Result<()> {
        let mut signals = self;
        thread::Builder::new()
            .name("signals".into())
            .stack_size(STACK)
            .spawn(move || {
                let mut stop = Some(stop);
                while let Some((number, name)) = signals.next() {
                    match stop.take() {
                        Some(stop) => {
                            crate::log_line!("{name}: shutting down (again to stop at once)");
                            // On a thread of its own: this one must stay free to
                            // see a second signal if the stop path hangs.
                            let spawned = thread::Builder::new()
                                .name("stopping".into())
                                .spawn(move || stop(name));
                            if spawned.is_err() {
                                crate::log::flush();
                                std::process::exit(killed_status(number));
                            }
                        }
                        None => {
                            crate::log_error!("{name} again: stopping at once");
                            crate::log::flush();
                            std::process::exit(killed_status(number));
                        }
                    }
                }
            })?;
        Ok(())
    }
    // ANCHOR_END: on_signal

    // ANCHOR: exit_on_signal
    /// For a server without a console (lessons 02, 03 and 09): on SIGINT or
    /// SIGTERM, stop accepting, close the connections still waiting in the
    /// listener's queue cleanly, let the logger flush, and exit 0. The clients
    /// being served see the end of their stream when the process's sockets
    /// close: a FIN, since nothing they sent is left unread between lines.
    ///
    /// The listener is shared (`Arc`), not copied with `try_clone`: a copy
    /// would be one more descriptor, and would keep it open after the server
    /// closes it. `None` for a server that closes its listener itself (lesson
    /// 04, once its one peer has come).
    pub fn exit_on_signal(self, listener: Option<Arc<TcpListener>>) -> io::Result<()> {
        self.on_signal(move |_| {
            // Closing the listener would reset (RST) the connections the system
            // completed but nobody accepted yet. Take them and close them: a
            // clean end of stream. Non-blocking, so this ends when the queue is
            // empty (the shared flag makes the serving thread's `accept` fail
            // too, which no longer matters: the process ends next).
            if let Some(listener) = listener.filter(|l| l.set_nonblocking(true).is_ok()) {
                close_waiting(|| listener.accept());
            }
            crate::log_line!("server stopped");
            crate::log::flush();
            std::process::exit(0);
        })
    }
    // ANCHOR_END: exit_on_signal
}

/// Takes the connections the system completed but nobody accepted yet, and
/// closes them: closing the listener with them in its queue would reset
/// (RST) them instead of ending them cleanly. `accept` must not wait (a
/// non-blocking listener): the first error, `WouldBlock` when the queue is
/// empty, ends this. For a server that stops its own loop on a signal
/// (lesson 10's), as [`Signals::exit_on_signal`] does for the others.
pub fn close_waiting<S>(mut accept: impl FnMut() -> io::Result<S>) {
    let mut waiting = Vec::new();
    while let Ok(stream) = accept() {
        waiting.push(stream);
        if waiting.len() >= 10_000 {
            break;
        }
    }
    if !waiting.is_empty() {
        crate::log_line!("closed {} waiting connections", waiting.len());
    }
}

// ANCHOR: console_ended
/// What the end of a console's input means: `true` (stop, as `/quit` does)
/// for Ctrl-D at a terminal; otherwise the console was closed or absent
/// from the start, and the server says so once, with how to stop it, and
/// goes on serving.
pub fn console_ended(at_terminal: bool) -> bool {
    if !at_terminal {
        crate::log_error!(
            "console closed (stdin is not a terminal): the server goes on; stop it with \
             Ctrl-C or `kill {}` (SIGTERM)",
            std::process::id()
        );
    }
    at_terminal
}
// ANCHOR_END: console_ended

/// The signals that ask a server to stop (SIGINT and SIGTERM), caught from
/// the moment this is made: make it before the server announces that it
/// listens, so that no signal sent from then on has its default effect, and
/// every descriptor of the server is open by then (signal-hook's waiting
/// uses two). A signal that comes before [`Signals::on_signal`] waits for it.
#[cfg(unix)]
pub struct Signals(signal_hook::iterator::Signals);

#[cfg(unix)]
impl Signals {
    pub fn new() -> io::Result<Signals> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map(Signals)
    }

    /// Waits for the next signal: its number and name.
    fn next(&mut self) -> Option<(i32, &'static str)> {
        use signal_hook::consts::SIGINT;
        let number = self.0.forever().next()?;
        Some((
            number,
            if number == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            },
        ))
    }
}

/// On Windows, `signal-hook` can only set a flag (its iterator is Unix
/// only), so the waiting thread looks at it ten times a second.
#[cfg(windows)]
pub struct Signals(Arc<std::sync::atomic::AtomicBool>);

#[cfg(windows)]
impl Signals {
    pub fn new() -> io::Result<Signals> {
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&flag))?;
        Ok(Signals(flag))
    }

    fn next(&mut self) -> Option<(i32, &'static str)> {
        use std::sync::atomic::Ordering;
        while !self.0.swap(false, Ordering::SeqCst) {
            thread::sleep(std::time::Duration::from_millis(100));
        }
        Some((signal_hook::consts::SIGINT, "Ctrl-C"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_terminal_stops_and_the_end_of_a_pipe_does_not() {
        assert!(console_ended(true));
        assert!(!console_ended(false));
    }

    #[test]
    fn a_second_signal_exits_with_the_status_of_a_killed_process() {
        assert_eq!(killed_status(2), 130);
        assert_eq!(killed_status(15), 143);
    }
}
