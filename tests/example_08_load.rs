//! Example 08 end to end: the load generator checks every reply, so it
//! fails loudly against a server that answers wrongly or not at all.

mod common;

use common::{Server, run};

fn load(args: &[&str]) -> (bool, Vec<String>, Vec<String>) {
    let (status, stdout, stderr) = run("08_load", args, "");
    (status.success(), stdout, stderr)
}

#[test]
fn pingpong_against_lesson_03_checks_and_counts_every_reply() {
    let server = Server::start("03_reverse_server", &[]);
    let addr = server.addr_arg();
    let (ok, stdout, stderr) = load(&[
        "pingpong",
        "--addr",
        &addr,
        "--clients",
        "4",
        "--messages",
        "50",
        "--size",
        "20",
        "--json",
    ]);
    assert!(ok, "pingpong should pass against 03: {stdout:?} {stderr:?}");
    assert_eq!(stdout.len(), 1, "one line of JSON: {stdout:?}");
    for field in [
        "\"mode\":\"pingpong\"",
        "\"ok\":200,\"wrong\":0,\"errors\":0",
        "\"passed\":true",
    ] {
        assert!(stdout[0].contains(field), "{field} in {}", stdout[0]);
    }
}

#[test]
fn pingpong_expecting_an_echo_from_a_reverse_server_fails_and_says_why() {
    let server = Server::start("03_reverse_server", &[]);
    let addr = server.addr_arg();
    let (ok, stdout, stderr) = load(&[
        "pingpong",
        "--addr",
        &addr,
        "--clients",
        "2",
        "--messages",
        "10",
        "--expect",
        "echo",
    ]);
    assert!(!ok, "wrong replies must fail the run");
    assert!(
        stdout[0]
            .starts_with("pingpong: 2 clients x 10 lines of 32 bytes: 0 ok, 20 wrong, 0 errors"),
        "{stdout:?}"
    );
    assert_eq!(stderr.len(), 1, "{stderr:?}");
    assert!(
        stderr[0]
            .starts_with("error: some replies were wrong or missing; the first: wrong reply \""),
        "{stderr:?}"
    );
}

#[test]
fn idle_holds_connections_while_a_new_client_is_answered() {
    let server = Server::start("03_reverse_server", &[]);
    let addr = server.addr_arg();
    let pid = server.program.pid().to_string();
    let (ok, stdout, stderr) = load(&["idle", "--addr", &addr, "--clients", "20", "--pid", &pid]);
    assert!(ok, "idle should pass against 03: {stdout:?} {stderr:?}");
    assert!(
        stdout[0].starts_with("idle: 20 of 20 connections held"),
        "{stdout:?}"
    );
    assert!(stdout[0].contains("probe answered 100/100"), "{stdout:?}");
    if std::path::Path::new("/proc/self/status").exists() {
        assert!(stdout[0].contains("server memory (VmRSS)"), "{stdout:?}");
    }
}

#[test]
fn idle_shows_a_pool_whose_workers_are_all_held_leaves_the_probe_unanswered() {
    let server = Server::start("07_pool_server", &["--workers", "2"]);
    let addr = server.addr_arg();
    let (ok, stdout, _) = load(&[
        "idle",
        "--addr",
        &addr,
        "--clients",
        "2",
        "--timeout",
        "0.5",
    ]);
    assert!(!ok, "an unanswered probe must fail the run");
    assert!(stdout[0].contains("probe answered 0/100"), "{stdout:?}");
}

#[test]
fn only_this_machine_can_be_loaded() {
    // 0.0.0.0 is not loopback, and needs no other machine's address.
    let (ok, _, stderr) = load(&["pingpong", "--addr", "0.0.0.0:2002"]);
    assert!(!ok);
    assert_eq!(
        stderr,
        vec![
            "error: cannot load 0.0.0.0:2002: 0.0.0.0:2002 is not a loopback address: \
             08_load only loads this machine"
        ]
    );
}

#[test]
fn room_against_lesson_05_sees_every_line_reach_every_other_client_in_order() {
    let server = Server::start("05_multi_server", &[]);
    let addr = server.addr_arg();
    let (ok, stdout, stderr) = load(&[
        "room",
        "--addr",
        &addr,
        "--clients",
        "5",
        "--messages",
        "20",
    ]);
    assert!(ok, "room should pass against 05: {stdout:?} {stderr:?}");
    assert!(
        stdout[0].starts_with(
            "room: 5 clients x 20 lines: 400/400 delivered, 0 reordered, 0 duplicated, \
             0 echoed to their sender, 0 torn, 0 mislabelled"
        ),
        "{stdout:?}"
    );
}

#[test]
fn room_against_a_server_that_does_not_relay_fails() {
    // The reverse server answers each client itself: nothing is relayed.
    let server = Server::start("03_reverse_server", &[]);
    let addr = server.addr_arg();
    let (ok, stdout, _) = load(&[
        "room",
        "--addr",
        &addr,
        "--clients",
        "2",
        "--messages",
        "3",
        "--timeout",
        "0.3",
    ]);
    assert!(!ok, "a server that relays nothing must fail the room check");
    assert!(stdout[0].contains("0/6 delivered"), "{stdout:?}");
}

#[test]
fn idle_probes_lesson_05_by_its_welcome_line() {
    let server = Server::start("05_multi_server", &["--max-clients", "100"]);
    let addr = server.addr_arg();
    let (ok, stdout, stderr) = load(&[
        "idle",
        "--addr",
        &addr,
        "--clients",
        "20",
        "--probe",
        "greeting",
    ]);
    assert!(ok, "idle should pass against 05: {stdout:?} {stderr:?}");
    assert!(
        stdout[0].starts_with("idle: 20 of 20 connections held"),
        "{stdout:?}"
    );
    assert!(
        stdout[0].contains("20 still open after the hold; probe answered 1/1"),
        "{stdout:?}"
    );
}

#[test]
fn a_server_that_is_not_there_is_one_readable_line() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let (ok, stdout, stderr) = load(&["pingpong", "--addr", &addr]);
    assert!(!ok);
    assert_eq!(stdout, Vec::<String>::new());
    assert_eq!(stderr.len(), 1, "{stderr:?}");
    assert!(
        stderr[0].starts_with(&format!("error: cannot connect to {addr}: ")),
        "{stderr:?}"
    );
}

#[test]
fn every_mode_has_a_one_line_json_report() {
    let reverse = Server::start("03_reverse_server", &[]);
    let room = Server::start("05_multi_server", &[]);
    let (r, m) = (reverse.addr_arg(), room.addr_arg());
    for (args, mode) in [
        (
            vec!["idle", "--addr", &r, "--clients", "3", "--json"],
            "idle",
        ),
        (
            vec![
                "room",
                "--addr",
                &m,
                "--clients",
                "3",
                "--messages",
                "5",
                "--json",
            ],
            "room",
        ),
    ] {
        let (ok, stdout, stderr) = load(&args);
        assert!(ok, "{mode}: {stdout:?} {stderr:?}");
        assert_eq!(stdout.len(), 1, "{mode}: one line of JSON: {stdout:?}");
        let line = &stdout[0];
        assert!(
            line.starts_with(&format!("{{\"mode\":\"{mode}\",")) && line.ends_with('}'),
            "{line}"
        );
        assert!(
            line.contains("\"passed\":true,\"first_error\":null}"),
            "{line}"
        );
    }
}
