//! The Tokio yardstick: lesson 02's echo and lesson 03's reverse protocol,
//! one task per connection on Tokio's multi-threaded runtime.
//!
//! ```text
//! tokio-peer --addr 127.0.0.1:0 --mode reverse
//! listening on 127.0.0.1:PORT
//! ```
//!
//! `--mode echo` sends back every byte as it came (lesson 02); `--mode
//! reverse` answers each line reversed by characters (lesson 03). It prints
//! `listening on IP:PORT` like the course's servers, so `bench/compare.py`
//! can start it on port 0, and it refuses any address but loopback.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy)]
enum Mode {
    Echo,
    Reverse,
}

fn usage(problem: &str) -> ! {
    eprintln!("error: {problem}");
    eprintln!("usage: tokio-peer --addr 127.0.0.1:PORT [--mode echo|reverse]");
    std::process::exit(2);
}

fn parse_args() -> (SocketAddr, Mode) {
    let mut addr = None;
    let mut mode = Mode::Echo;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--addr" => match value.parse::<SocketAddr>() {
                Ok(a) if a.ip().is_loopback() => addr = Some(a),
                _ => usage(&format!("--addr must be a loopback IP:PORT, not {value}")),
            },
            "--mode" => {
                mode = match value.as_str() {
                    "echo" => Mode::Echo,
                    "reverse" => Mode::Reverse,
                    _ => usage(&format!("--mode is echo or reverse, not {value}")),
                }
            }
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    (addr.unwrap_or_else(|| usage("--addr is required")), mode)
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    tokio::io::copy(&mut reader, &mut writer).await?;
    Ok(())
}

async fn reverse(stream: TcpStream) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let mut reply: String = text.chars().rev().collect();
        reply.push('\n');
        writer.write_all(reply.as_bytes()).await?;
    }
}

async fn serve(listener: TcpListener, mode: Mode) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                tokio::spawn(async move {
                    // A client's error ends that client only.
                    let _ = match mode {
                        Mode::Echo => echo(stream).await,
                        Mode::Reverse => reverse(stream).await,
                    };
                });
            }
            // EMFILE and the like: wait a moment instead of spinning.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

fn main() -> io::Result<()> {
    let (addr, mode) = parse_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await?;
        let mut out = io::stdout();
        writeln!(out, "listening on {}", listener.local_addr()?)?;
        out.flush()?;
        serve(listener, mode).await;
        Ok(())
    })
}
