//! Advice that would contradict an exercise's own rules. A check's message
//! gives advice only where what it saw supports it; these phrases are what
//! no message of that exercise may ever say, whatever it saw (for example,
//! "use read_line" where the rule is "copy bytes, not lines"). A message
//! may still name what the code did ("lines() and read_line + trim do"):
//! the phrases are advice, not diagnoses. The fixtures'
//! runners (`solutions/tests/wrong_solutions*.rs`) fail on any message of
//! a rejected wrong answer that contains one.

/// The phrases (compared in lower case) that contradict `exercise`'s task.
pub fn contradicts_the_task(exercise: &str) -> &'static [&'static str] {
    match exercise {
        // Results in the order of the numbers; one call of f per number.
        "threads" => &["sort the results", "once per distinct number is enough"],
        // One line per reply, and no prompt.
        "exit_client" => &["use read_to_string", "use read_to_end", "print a prompt"],
        // Bytes, not lines; no try_clone needed (lesson 02).
        "echo_server" => &[
            "with bufread::read_line",
            "use read_line",
            "read up to the line end",
            "decode whole lines",
            "wait for the \\n",
        ],
        // Lines, with a limit, decoded whole.
        "reverse" => &["copy bytes, not lines", "use read_to_string"],
        // Copy bytes, not lines; each direction ends on its own (lesson 04).
        "duplex" => &[
            "with bufread::read_line",
            "use read_line",
            "read lines",
            "read up to the line end",
            "decode whole lines",
            "shutdown::write, not both",
            "means the peer closed; return then",
            "return as soon as the peer closes",
        ],
        // Lines from the console, routed whole.
        "console_router" => &["copy bytes, not lines", "use read_to_string"],
        // One deadline for connect and reply, every server at once.
        "fan_out" => &[
            "read_to_end",
            "read_to_string",
            "unwrap_or_default",
            "set_read_timeout alone",
        ],
        // Channel or Condvar: describe what happened, not one design's fix.
        "pool" => &[
            "drop the sender",
            "block until there is room",
            "wait for room in",
        ],
        // A read timeout ends the run; a stalled write is an error.
        "load" => &[
            "the server only echoed",
            "a read timeout is an error",
            "return the read timeout",
            "send everything, then read",
        ],
        // Bytes, not text and not lines.
        "proxy" => &[
            "read_line",
            "lessons::framing",
            "frame the stream",
            "decode whole lines",
        ],
        // One thread for every client: nothing may wait for a line, or for
        // a socket to take a whole reply.
        "event_loop" => &[
            "bufread::read_line",
            "use read_line",
            "use write_all",
            "set_nonblocking(false)",
        ],
        _ => &[],
    }
}

/// The phrases of [`contradicts_the_task`] that `message` contains.
pub fn contradictions(exercise: &str, message: &str) -> Vec<&'static str> {
    let message = message.to_lowercase();
    contradicts_the_task(exercise)
        .iter()
        .copied()
        .filter(|phrase| message.contains(&phrase.to_lowercase()))
        .collect()
}

/// The exercise whose checks are exactly `checks` (by name), if one is.
pub fn exercise_of(checks: &[&str]) -> Option<&'static str> {
    super::exercises()
        .into_iter()
        .find(|e| e.checks.len() == checks.len() && checks.iter().all(|c| e.checks.contains(c)))
        .map(|e| e.name)
}
