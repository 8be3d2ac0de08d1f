//! Lesson 03's server again, as async tasks on a Tokio runtime.
//!
//! The code reads like lesson 03's: a loop that accepts, and for each client
//! a loop that reads a line and writes its reply. But `serve_client` is not
//! run by a thread of its own. `async fn` turns it into a state machine (a
//! value of a type the compiler writes, with one state per `.await`), and a
//! task holds that value. Where lesson 03's thread would wait in `read`, the
//! task returns `Pending` to the runtime, which polls another task, and
//! polls this one again when its socket is ready: the event loop of
//! [`crate::event_loop`], written once, inside Tokio.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout_at};

use lessons::framing::{self, LineError};
use lessons::{cli, reverse};

use crate::Config;

// ANCHOR: runtime
/// Listens on `addr` and serves every client as a task, on `threads`
/// threads: 1 is Tokio's current-thread runtime (one thread, like the event
/// loop), more its work-stealing runtime. What `#[tokio::main]` would
/// write, by hand. Ends at SIGINT or SIGTERM (Ctrl-C on Windows).
pub fn serve(addr: &str, config: Config, threads: usize) -> io::Result<()> {
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    // The signals are caught from before `listening on` is printed, so that
    // a script that waits for that line and then sends SIGTERM never meets
    // the default action; Tokio's signals need the runtime to exist.
    let (mut signals, listener) = {
        let _inside = runtime.enter();
        (StopSignals::new()?, cli::listen(addr)?)
    };
    listener.set_nonblocking(true)?;
    let result = runtime.block_on(async {
        let listener = TcpListener::from_std(listener)?;
        // Whichever ends first; the accept loop never does, so this waits
        // for a signal, and then drops (cancels) the accept loop.
        tokio::select! {
            () = accept_loop(&listener, config) => {}
            name = signals.recv() => lessons::log_line!("{name}: shutting down"),
        }
        // What `lessons::stop` does for lesson 03's server: a clean end for
        // the connections still waiting in the listener's queue.
        let listener = listener.into_std()?;
        lessons::stop::close_waiting(|| listener.accept());
        Ok(())
    });
    // The tasks still serving clients are dropped with the runtime, which
    // closes their sockets: a clean end of stream for each. Without waiting
    // for a thread stuck in a blocking call (`--block-ms`).
    runtime.shutdown_background();
    if result.is_ok() {
        lessons::log_line!("server stopped");
    }
    result
}
// ANCHOR_END: runtime

// ANCHOR: signals
/// The signals that ask the server to stop, as futures. Tokio's `ctrl_c()`
/// is SIGINT alone; `kill`, systemd and `docker stop` send SIGTERM.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    /// Windows has no SIGTERM: Ctrl-C in the console is the one way to ask;
    /// closing the window or `taskkill /F` ends the process at once.
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl StopSignals {
    /// Catches the signals from now on (their default action, ending the
    /// process at once, no longer happens). Inside a runtime only.
    fn new() -> io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(windows)]
        {
            Ok(StopSignals {
                ctrl_c: tokio::signal::windows::ctrl_c()?,
            })
        }
    }

    /// Waits for the next signal, and says which one came.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(windows)]
        {
            self.ctrl_c.recv().await;
            "Ctrl-C"
        }
    }
}
// ANCHOR_END: signals

// ANCHOR: accept_loop
/// Accepts clients and gives each a task, until this future is dropped.
async fn accept_loop(listener: &TcpListener, config: Config) {
    let mut backoff = cli::Backoff::new();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                backoff.recovered();
                lessons::log_line!("client {peer} connected");
                // A task is a few hundred bytes on the heap, not a thread.
                tokio::spawn(async move {
                    match serve_client(stream, config).await {
                        Ok(()) => lessons::log_line!("client {peer} disconnected"),
                        Err(e) => {
                            lessons::log_line!("client {peer} disconnected: {}", cli::describe(&e))
                        }
                    }
                });
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if cli::one_clients_trouble(&e) => {
                lessons::log_error!("a client was lost while connecting: {}", cli::describe(&e));
            }
            // Out of descriptors or memory: pause this task, not the thread.
            Err(e) => tokio::time::sleep(backoff.pause(&e)).await,
        }
    }
}
// ANCHOR_END: accept_loop

// ANCHOR: read_line
/// [`framing::read_line`] for async readers: the same `take` bounds the
/// line, the same rules finish it.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<String>, LineError> {
    let mut line = Vec::new();
    let limit = (max as u64).saturating_add(1);
    let n = reader.take(limit).read_until(b'\n', &mut line).await?;
    if n == 0 {
        return Ok(None);
    }
    framing::finish_line(line, max).map(Some)
}
// ANCHOR_END: read_line

// ANCHOR: serve_client
/// Answers every line of one client until it disconnects: lesson 03's
/// `serve_lines`, with `.await` where that one blocks.
async fn serve_client(stream: TcpStream, config: Config) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    // Each round (a line, then its reply) within the idle timeout, if any.
    let round = || config.idle_timeout.map(|t| Instant::now() + t);
    loop {
        let deadline = round();
        let reply = match within(deadline, next_reply(&mut reader, config)).await {
            Ok(Ok(Some(reply))) => reply,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(LineError::NotUtf8)) => b"error: line is not valid UTF-8\n".to_vec(),
            Ok(Err(LineError::Io(e))) => return Err(e),
            Ok(Err(e @ LineError::TooLong { .. })) => {
                let line = format!("error: {e}; closing the connection");
                say_and_close(reader, writer, &line).await;
                return Ok(());
            }
            // The round's deadline passed before a whole line came.
            Err(Elapsed) => {
                let idle = config.idle_timeout.unwrap_or_default();
                let why = format!("idle for {}", cli::seconds(idle));
                let line = format!("error: {why}; closing the connection");
                say_and_close(reader, writer, &line).await;
                return Err(io::Error::new(io::ErrorKind::TimedOut, why));
            }
        };
        if !config.block.is_zero() {
            // The mistake this flag is for: a blocking call inside a task.
            // The thread that runs it runs no other task meanwhile.
            std::thread::sleep(config.block);
        }
        match within(deadline, writer.write_all(&reply)).await {
            Ok(result) => result?,
            Err(Elapsed) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading its replies",
                ));
            }
        }
    }
}
// ANCHOR_END: serve_client

/// The reply to what the client sends next (`None`: it has finished).
async fn next_reply<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    config: Config,
) -> Result<Option<Vec<u8>>, LineError> {
    if config.raw {
        // The original's mistake, kept for the lesson: one read taken as
        // one message, its bytes reversed.
        let mut buf = [0u8; 1024];
        let n = reader.read(&mut buf).await?;
        return Ok((n > 0).then(|| buf[..n].iter().rev().copied().collect()));
    }
    let line = read_line(reader, config.max_line).await?;
    Ok(line.map(|line| (reverse::reverse_chars(&line) + "\n").into_bytes()))
}

/// A deadline passed.
struct Elapsed;

/// Runs `work` until `deadline` (`None`: no deadline).
async fn within<T>(deadline: Option<Instant>, work: impl Future<Output = T>) -> Result<T, Elapsed> {
    match deadline {
        Some(deadline) => timeout_at(deadline, work).await.map_err(|_| Elapsed),
        None => Ok(work.await),
    }
}

// ANCHOR: say_and_close
/// [`framing::say_and_close`] for a task: the last line, a half-close,
/// then what the client still sends is read and dropped for a while, so
/// the close is not a reset that could destroy the line.
async fn say_and_close<R: AsyncBufRead + Unpin>(
    mut reader: R,
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    line: &str,
) {
    let end = Instant::now() + framing::CLOSE_DRAIN_TIME;
    let _ = timeout_at(end, async {
        // The client may be gone already: nobody to tell then.
        let _ = writer.write_all(format!("{line}\n").as_bytes()).await;
        let _ = writer.shutdown().await;
        let mut sink = tokio::io::sink();
        let _ = tokio::io::copy_buf(
            &mut (&mut reader).take(framing::CLOSE_DRAIN_BYTES as u64),
            &mut sink,
        )
        .await;
    })
    .await;
}
// ANCHOR_END: say_and_close
