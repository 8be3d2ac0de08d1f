//! Pushes `--bytes` bytes through an echo server (lesson 02, or
//! `copy_server`) and checks every byte that comes back, in order.
//!
//! ```text
//! bulk --addr 127.0.0.1:PORT --bytes 1073741824
//! bulk: 1073741824 bytes echoed and checked in 0.71 s = 1442.3 MiB/s
//! ```
//!
//! One thread writes a fixed pattern and then half-closes; this one reads
//! until the server closes, comparing as it goes. The figure is the echoed
//! data per second: every byte crosses loopback twice.
#![forbid(unsafe_code)]

use clap::Parser;
use lessons::cli;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// Pushes bytes through an echo server and checks what comes back.
#[derive(Parser)]
struct Args {
    /// The echo server (this machine only).
    #[arg(long)]
    addr: String,
    /// How many bytes to send.
    #[arg(long, default_value_t = 1 << 30)]
    bytes: u64,
    /// The size of each write and read.
    #[arg(long, default_value_t = 64 * 1024, value_parser = cli::count(1..=16 << 20))]
    chunk: usize,
    /// Give up on any one read or write after this many seconds.
    #[arg(long, default_value = "10", value_name = "SECS", value_parser = cli::parse_secs)]
    timeout: Duration,
}

/// The stream is 0, 1, ..., 250, 0, 1, ...: a period (251, a prime) that
/// never lines up with a buffer size, so a lost, doubled or reordered chunk
/// is always caught.
const PERIOD: u64 = 251;

/// The pattern for `len` bytes from any position: slice it at
/// `position % PERIOD`. Sending and checking are then plain copies and
/// comparisons, fast enough not to be what is measured.
fn pattern(len: usize) -> Vec<u8> {
    (0..len as u64 + PERIOD)
        .map(|i| (i % PERIOD) as u8)
        .collect()
}

fn at(pattern: &[u8], position: u64, len: usize) -> &[u8] {
    let from = (position % PERIOD) as usize;
    &pattern[from..from + len]
}

fn run(args: &Args) -> io::Result<()> {
    let stream = cli::connect(&args.addr, args.timeout)?;
    if !stream.peer_addr()?.ip().is_loopback() {
        return Err(io::Error::other("bulk only talks to this machine"));
    }
    let mut writer = stream.try_clone()?;
    let mut reader = stream;
    let (bytes, chunk) = (args.bytes, args.chunk);
    let pattern = pattern(chunk);
    let expected = &pattern;
    let start = Instant::now();
    let received = thread::scope(|s| {
        let sender = s.spawn(move || -> io::Result<()> {
            let mut sent = 0u64;
            while sent < bytes {
                let n = chunk.min((bytes - sent) as usize);
                writer.write_all(at(expected, sent, n))?;
                sent += n as u64;
            }
            writer.shutdown(Shutdown::Write)
        });
        let mut buf = vec![0u8; chunk];
        let mut got = 0u64;
        let checked = loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break Ok(got),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            if buf[..n] != *at(expected, got, n) {
                break Err(io::Error::other(format!(
                    "the {n} bytes from byte {got} on came back wrong"
                )));
            }
            got += n as u64;
        };
        let sent = sender
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        sent.and(checked)
    })?;
    let secs = start.elapsed().as_secs_f64();
    if received != bytes {
        return Err(io::Error::other(format!(
            "sent {bytes} bytes but {received} came back"
        )));
    }
    println!(
        "bulk: {bytes} bytes echoed and checked in {secs:.2} s = {:.1} MiB/s",
        bytes as f64 / secs / (1024.0 * 1024.0)
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::exit_code(run(&args))
}
