//! The tools every check uses so that it cannot hang and always says what
//! went wrong: the code under test runs on a thread of its own and is waited
//! for with a deadline; a `todo!()` or any other panic becomes a message;
//! sockets get read timeouts; fake users and fake outputs can be watched.

use std::any::Any;
use std::cell::RefCell;
use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

/// How long a check waits for any one thing (a reply, a thread to finish)
/// before it fails. Long for loopback, short enough to keep `cargo test` quick.
pub const WAIT: Duration = Duration::from_secs(2);

/// The text of a panic, whatever type its payload has.
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// Turns a panic of the code under test into advice. An untouched exercise
/// panics in its `todo!()`, whose message names the file to edit.
pub fn explain_panic(what: &str, message: &str, at: Option<&str>) -> String {
    match message.strip_prefix("not yet implemented: ") {
        Some(task) => format!(
            "not done yet: {task}\n(`{what}` still runs its todo!(): replace it with your code)"
        ),
        None => format!(
            "`{what}` panicked{}: {message}\n(an unwrap() or expect() on a network or input \
             error? Return the error, or handle it, instead of panicking)",
            at.map(|at| format!(" at {at}")).unwrap_or_default()
        ),
    }
}

thread_local! {
    /// Where the last panic on this thread happened, for [`explain_panic`].
    static PANICKED_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The threads that run code under test are named `checking ...`. A panic
/// there is caught and explained by the check, so the usual report (and its
/// backtrace) would only repeat it: keep its location and stay quiet. Panics
/// anywhere else are reported as usual.
fn quiet_panics_of_checked_code() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let usual = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let checked = thread::current()
                .name()
                .is_some_and(|n| n.starts_with("checking "));
            if checked {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                PANICKED_AT.with(|p| *p.borrow_mut() = at);
            } else {
                usual(info);
            }
        }));
    });
}

/// How a task that was waited for turned out, if it did not simply finish.
pub enum Waited {
    /// It panicked; the message is already explained for the student.
    Panicked(String),
    /// It was still running when the wait ended.
    Running,
}

/// Code under test running on a thread of its own. Its outcome arrives on a
/// channel, so the check can wait for it with a deadline instead of joining.
pub struct Task<T> {
    what: &'static str,
    outcome: Receiver<Result<T, String>>,
    /// A copy of the panic message, if it panics: see [`Task::fail_fast`].
    panicked: Receiver<String>,
}

/// Runs `f` on a new thread. `what` names the student's function in messages.
pub fn spawn<T, F>(what: &'static str, f: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    quiet_panics_of_checked_code();
    let (tx, rx) = mpsc::channel();
    let (panic_tx, panic_rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("checking {what}"))
        .spawn({
            let tx = tx.clone();
            move || {
                let outcome = panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
                    let at = PANICKED_AT.with(|at| at.borrow_mut().take());
                    explain_panic(what, &panic_text(p.as_ref()), at.as_deref())
                });
                // Nobody may be listening any more (the check gave up): fine.
                if let Err(why) = &outcome {
                    let _ = panic_tx.send(why.clone());
                }
                let _ = tx.send(outcome);
            }
        });
    if let Err(e) = spawned {
        let _ = tx.send(Err(format!("the check could not start a thread: {e}")));
    }
    Task {
        what,
        outcome: rx,
        panicked: panic_rx,
    }
}

impl<T> Task<T> {
    /// Waits up to `within` for the task to finish.
    pub fn wait(&self, within: Duration) -> Result<T, Waited> {
        match self.outcome.recv_timeout(within) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panicked)) => Err(Waited::Panicked(panicked)),
            Err(RecvTimeoutError::Timeout) => Err(Waited::Running),
            Err(RecvTimeoutError::Disconnected) => Err(Waited::Panicked(format!(
                "`{}` ended without a result",
                self.what
            ))),
        }
    }

    /// Fails at once if the task panics right away, as an untouched stub
    /// does in its `todo!()`, instead of letting the check wait for a reply
    /// that cannot come. (If the thread is slow to start, the check goes on
    /// and reports the panic later: only slower, never wrong.)
    pub fn fail_fast(&self) -> Result<(), String> {
        match self.panicked.recv_timeout(Duration::from_millis(30)) {
            Ok(why) => Err(why),
            Err(_) => Ok(()),
        }
    }

    pub fn what(&self) -> &'static str {
        self.what
    }
}

/// A server under test: the student's function serving a listener the check
/// bound on 127.0.0.1 port 0, so checks never collide.
pub struct Server {
    pub addr: SocketAddr,
    task: Task<io::Result<()>>,
}

impl Server {
    pub fn start<F>(what: &'static str, serve: F) -> Result<Server, String>
    where
        F: FnOnce(TcpListener) -> io::Result<()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the check could not read its port: {e}"))?;
        let task = spawn(what, move || serve(listener));
        task.fail_fast()?;
        Ok(Server { addr, task })
    }

    /// Connects a client with read and write timeouts of [`WAIT`].
    pub fn connect(&self) -> Result<TcpStream, String> {
        let stream = TcpStream::connect_timeout(&self.addr, WAIT)
            .map_err(|e| self.fail(format!("could not connect to your server: {e}")))?;
        with_timeouts(stream, WAIT)
    }

    /// If the server has stopped (returned or panicked), that is the real
    /// problem, whatever the check saw: say so. Otherwise report `saw`.
    pub fn fail(&self, saw: impl Into<String>) -> String {
        let saw = saw.into();
        match self.task.wait(Duration::from_millis(300)) {
            Err(Waited::Running) => saw,
            Err(Waited::Panicked(why)) => why,
            Ok(returned) => format!(
                "`{}` returned {returned:?}, but a server must keep serving: it should only \
                 return if accepting itself fails for good. (What the check saw: {saw})",
                self.task.what()
            ),
        }
    }

    /// `Ok` if the server is still running, after a short grace period.
    pub fn still_running(&self, after: &str) -> Result<(), String> {
        match self.task.wait(Duration::from_millis(300)) {
            Err(Waited::Running) => Ok(()),
            Err(Waited::Panicked(why)) => Err(format!("after {after}, {why}")),
            Ok(returned) => Err(format!(
                "after {after}, `{}` returned {returned:?}. One client's error must end only \
                 that client: log it and keep accepting the others",
                self.task.what()
            )),
        }
    }
}

/// Sets read and write timeouts, so a check never blocks for good.
pub fn with_timeouts(stream: TcpStream, timeout: Duration) -> Result<TcpStream, String> {
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("the check could not set timeouts: {e}"))?;
    Ok(stream)
}

/// A connected pair of sockets on 127.0.0.1: (the check's end, the end given
/// to the student's code). Only the check's end has timeouts: the student's
/// code decides about its own, as a real program does (a chat may be quiet
/// for hours). It cannot block for good either way: when the check ends,
/// its end closes, and a read on the other end returns 0.
pub fn socket_pair() -> Result<(TcpStream, TcpStream), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the check could not read its port: {e}"))?;
    let ours = TcpStream::connect_timeout(&addr, WAIT)
        .map_err(|e| format!("the check could not connect to itself: {e}"))?;
    // The connection is already queued, so this accept returns at once.
    let (theirs, _) = listener
        .accept()
        .map_err(|e| format!("the check could not accept: {e}"))?;
    Ok((with_timeouts(ours, WAIT)?, theirs))
}

/// True for the error a read returns when its timeout expires (WouldBlock
/// on Unix, TimedOut on Windows).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads one line (without its `\n`). `Ok(None)` means the peer closed.
pub fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut bytes = Vec::new();
    if reader.read_until(b'\n', &mut bytes)? == 0 {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Reads until the peer closes, with the stream's timeout per read.
pub fn read_to_close(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all)?;
    Ok(all)
}

/// Checks that nothing arrives for `quiet`. "Nothing happens" cannot be
/// signalled, so this is the one place where a check waits on purpose.
pub fn nothing_arrives(stream: &TcpStream, quiet: Duration) -> Result<(), String> {
    stream
        .set_read_timeout(Some(quiet))
        .map_err(|e| e.to_string())?;
    let mut byte = [0u8; 64];
    let result = (&*stream).read(&mut byte);
    stream
        .set_read_timeout(Some(WAIT))
        .map_err(|e| e.to_string())?;
    match result {
        Err(e) if is_timeout(&e) => Ok(()),
        Ok(0) => Err("the connection was closed".to_string()),
        Ok(n) => Err(format!(
            "received {:?}",
            String::from_utf8_lossy(&byte[..n])
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// A text comparison for a failure message: a pretty_assertions diff.
pub fn diff<T: std::fmt::Debug + PartialEq>(expected: &T, actual: &T) -> String {
    // Comparison::new(left, right) shows left as `<` and right as `>`.
    format!("{}", pretty_assertions::Comparison::new(expected, actual))
}

/// Compares `actual` with `expected`; on a difference, explains with `why`
/// and a diff (`<` expected, `>` what your code did).
pub fn same<T: std::fmt::Debug + PartialEq>(
    expected: &T,
    actual: &T,
    why: impl FnOnce() -> String,
) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{}\n(< expected, > yours)\n{}",
            why(),
            diff(expected, actual)
        ))
    }
}

/// An output the check can watch while the student's code writes to it:
/// every write wakes whoever waits for some text to appear.
#[derive(Clone, Default)]
pub struct Output {
    shared: Arc<(Mutex<Vec<u8>>, Condvar)>,
}

impl Output {
    pub fn text(&self) -> String {
        let bytes = self.shared.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits until the text written so far satisfies `done`, at most `within`.
    pub fn wait_for(&self, within: Duration, done: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + within;
        let (lock, written) = &*self.shared;
        let mut bytes = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if done(&String::from_utf8_lossy(&bytes)) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            bytes = written
                .wait_timeout(bytes, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (lock, written) = &*self.shared;
        lock.lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        written.notify_all();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A keyboard the check types on: the student's code reads it as a
/// `BufRead`. What was typed is handed over in order; when nothing is left,
/// a read *waits*, like a terminal, until more is typed or the keyboard is
/// closed (then it is the end of input).
pub struct Keyboard {
    typed: Receiver<Vec<u8>>,
    current: io::Cursor<Vec<u8>>,
    waiting: Arc<AtomicBool>,
}

/// The check's side of a [`Keyboard`].
pub struct Typist {
    keys: Option<Sender<Vec<u8>>>,
    waiting: Arc<AtomicBool>,
}

pub fn keyboard() -> (Typist, Keyboard) {
    let (tx, rx) = mpsc::channel();
    let waiting = Arc::new(AtomicBool::new(false));
    (
        Typist {
            keys: Some(tx),
            waiting: Arc::clone(&waiting),
        },
        Keyboard {
            typed: rx,
            current: io::Cursor::new(Vec::new()),
            waiting,
        },
    )
}

impl Typist {
    pub fn type_text(&self, text: &str) {
        if let Some(keys) = &self.keys {
            // The reader may be gone already (the code under test returned).
            let _ = keys.send(text.as_bytes().to_vec());
        }
    }

    /// Ends the input, like Ctrl-D in a terminal or the end of a piped file.
    pub fn close(&mut self) {
        self.keys = None;
    }

    /// True while the code under test is blocked waiting for more input.
    pub fn is_waited_on(&self) -> bool {
        self.waiting.load(Ordering::SeqCst)
    }
}

impl Read for Keyboard {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Keyboard {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.current.position() as usize >= self.current.get_ref().len() {
            self.waiting.store(true, Ordering::SeqCst);
            let next = self.typed.recv();
            self.waiting.store(false, Ordering::SeqCst);
            match next {
                Ok(bytes) => self.current = io::Cursor::new(bytes),
                Err(_) => return Ok(&[]), // the typist closed the keyboard
            }
        }
        let start = self.current.position() as usize;
        Ok(&self.current.get_ref()[start..])
    }

    fn consume(&mut self, amount: usize) {
        let position = self.current.position() + amount as u64;
        self.current.set_position(position);
    }
}
