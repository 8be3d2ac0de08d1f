//! Lesson 02's echo loop with the copy buffer's size as a flag: the program
//! behind the buffer sweep in docs/measurements.md, which chose
//! `echo::COPY_BUFFER`.
//!
//! ```text
//! copy_server --addr 127.0.0.1:0 --buffer 65536
//! listening on 127.0.0.1:PORT
//! ```
//!
//! Like `02_echo_server`, it serves one client after the other.
#![forbid(unsafe_code)]

use clap::Parser;
use lessons::cli;
use std::io::{self, BufReader};
use std::net::TcpStream;
use std::process::ExitCode;

/// Echo server with a chosen copy buffer, one client at a time.
#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// The copy buffer, in bytes.
    #[arg(long, value_parser = cli::count(1..=64 << 20))]
    buffer: usize,
}

/// The same copy as `lessons::echo::echo_client`, with `buffer` in place of
/// `COPY_BUFFER`.
fn echo(stream: TcpStream, buffer: usize) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(buffer, stream.try_clone()?);
    let mut writer = stream;
    io::copy(&mut reader, &mut writer)
}

fn run(args: &Args) -> io::Result<()> {
    let listener = cli::listen(&args.addr)?;
    for (stream, peer) in cli::clients(&listener) {
        match echo(stream, args.buffer) {
            Ok(bytes) => lessons::log_line!("client {peer}: {bytes} bytes"),
            Err(e) => lessons::log_line!("client {peer}: {e}"),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::exit_code(run(&args))
}
