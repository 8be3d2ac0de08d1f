//! Lesson 10's own claims. Its two servers pass every test of lesson 03's
//! protocol too: `lesson_03_reverse.rs` and `faults.rs` run their tests
//! against `03_reverse_server`, `10_event_loop` and `10_async` alike.

mod common;

use common::{Server, read_line};
use rstest::rstest;
use std::io::{BufReader, Write};
use std::time::{Duration, Instant};

#[rstest]
#[case::event_loop("10_event_loop", &[])]
#[case::async_tasks_on_one_thread("10_async", &["--threads", "1"])]
fn one_blocking_call_makes_every_client_of_the_thread_wait(
    #[case] name: &str,
    #[case] extra: &[&str],
) {
    // Backs lesson 10's "one slow handler stalls everyone": three clients
    // send a line each at once, and each line blocks the serving thread for
    // 0.4 s. A thread per client would answer all three after about 0.4 s;
    // one thread must sleep three times before the last reply can leave.
    let mut args = vec!["--block-ms", "400"];
    args.extend_from_slice(extra);
    let server = Server::start(name, &args);
    let clients: Vec<_> = (0..3).map(|_| server.connect()).collect();
    let started = Instant::now();
    for c in &clients {
        (&*c).write_all(b"abc\n").expect("send");
    }
    for (i, c) in clients.iter().enumerate() {
        let reply = read_line(&mut BufReader::new(c), &format!("reply {i}"));
        assert_eq!(reply, "cba");
    }
    let last = started.elapsed();
    println!("{name}: three lines of 0.4 s each, the last reply after {last:?}");
    assert!(
        last >= Duration::from_millis(1200),
        "the three lines were served side by side ({last:?}): no stall?"
    );
}
