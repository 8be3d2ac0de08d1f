//! Checks of exercise 04, `chat`: the check plays both the user (a keyboard
//! it types on, an output it watches) and the peer (the other end of a real
//! connection).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use super::harness::{
    Keyboard, Output, Task, Typist, WAIT, Waited, is_timeout, keyboard, same, socket_pair, spawn,
};

/// The function under test, with the checks' keyboard and output.
pub type Chat = fn(Keyboard, Output, TcpStream) -> io::Result<()>;

pub fn checks(subject: Chat) -> Vec<super::Check> {
    checks!(subject =>
        what_the_peer_sends_appears_while_the_user_types_nothing,
        what_the_user_types_reaches_a_peer_that_says_nothing,
        the_end_of_the_input_is_passed_on_and_the_peer_still_heard,
        returns_when_the_peer_closes_even_while_the_user_types_nothing,
    )
}

struct Session {
    typist: Typist,
    output: Output,
    peer: TcpStream,
    task: Task<io::Result<()>>,
}

fn start(subject: Chat) -> Result<Session, String> {
    let (peer, theirs) = socket_pair()?;
    let (typist, keyboard) = keyboard();
    let output = Output::default();
    let task = spawn("chat", {
        let output = output.clone();
        move || subject(keyboard, output, theirs)
    });
    task.fail_fast()?;
    Ok(Session {
        typist,
        output,
        peer,
        task,
    })
}

impl Session {
    /// The peer closes the connection (both directions).
    fn close_peer(&self) -> Result<(), String> {
        self.peer
            .shutdown(Shutdown::Both)
            .map_err(|e| format!("the peer could not close: {e}"))
    }

    /// Prefers "your function panicked/returned" over what the check saw.
    fn fail(&self, saw: String) -> String {
        match self.task.wait(Duration::from_millis(300)) {
            Err(Waited::Running) => saw,
            Err(Waited::Panicked(why)) => why,
            Ok(returned) => format!("chat returned {returned:?} too early: {saw}"),
        }
    }

    fn peer_says(&self, bytes: &[u8]) -> Result<(), String> {
        (&self.peer)
            .write_all(bytes)
            .map_err(|e| self.fail(format!("the peer could not send: {e}")))
    }

    /// Reads what the peer receives until `expected.len()` bytes came.
    fn peer_hears(&self, expected: &str, hint: &str) -> Result<(), String> {
        let mut heard = vec![0u8; expected.len()];
        let mut got = 0;
        while got < heard.len() {
            match (&self.peer).read(&mut heard[got..]) {
                Ok(0) => {
                    return Err(self.fail(format!(
                        "the peer expected {expected:?} but the connection closed after {:?}",
                        String::from_utf8_lossy(&heard[..got])
                    )));
                }
                Ok(n) => got += n,
                Err(e) if is_timeout(&e) => {
                    return Err(self.fail(format!(
                        "the user typed {expected:?}, and after {WAIT:?} the peer had received \
                         {:?}. {hint}",
                        String::from_utf8_lossy(&heard[..got])
                    )));
                }
                Err(e) => return Err(self.fail(format!("the peer could not read: {e}"))),
            }
        }
        same(
            &expected.to_string(),
            &String::from_utf8_lossy(&heard).into_owned(),
            || "the peer should receive exactly what the user typed".to_string(),
        )
    }

    fn output_shows(&self, expected: &str, hint: &str) -> Result<(), String> {
        if !self
            .output
            .wait_for(WAIT, |text| text.len() >= expected.len())
        {
            return Err(self.fail(format!(
                "the peer sent {expected:?}, and after {WAIT:?} the output showed {:?}. {hint}",
                self.output.text()
            )));
        }
        same(&expected.to_string(), &self.output.text(), || {
            "the output should show exactly what the peer sent, unchanged".to_string()
        })
    }

    fn returns_ok(&self, after: &str, hint: &str) -> Result<(), String> {
        match self.task.wait(WAIT) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!(
                "after {after}, chat returned Err({e}); the peer closing is the normal end of \
                 a chat: return Ok(())"
            )),
            Err(Waited::Panicked(why)) => Err(why),
            Err(Waited::Running) => Err(format!(
                "{WAIT:?} after {after}, chat was still running. {hint}"
            )),
        }
    }
}

pub fn what_the_peer_sends_appears_while_the_user_types_nothing(
    subject: Chat,
) -> Result<(), String> {
    let session = start(subject)?;
    session.peer_says(b"hello\nare you there? ")?;
    session.output_shows(
        "hello\nare you there? ",
        "The user has typed nothing: is your code waiting for the keyboard before it reads \
         from the peer? Read the peer on one thread and the keyboard on another. (Bytes \
         without a newline must show too: copy bytes, and flush the output after each write.)",
    )
}

pub fn what_the_user_types_reaches_a_peer_that_says_nothing(subject: Chat) -> Result<(), String> {
    let mut session = start(subject)?;
    session.typist.type_text("one\ntwo\n");
    session.peer_hears(
        "one\ntwo\n",
        "The peer has said nothing: is your code waiting for the peer before it reads the \
         keyboard again? Copy the keyboard to the peer on a thread of its own.",
    )
}

pub fn the_end_of_the_input_is_passed_on_and_the_peer_still_heard(
    subject: Chat,
) -> Result<(), String> {
    let mut session = start(subject)?;
    session.typist.type_text("bye\n");
    session.typist.close();
    session.peer_hears("bye\n", "Copy the keyboard to the peer.")?;
    let mut more = [0u8; 64];
    match (&session.peer).read(&mut more) {
        Ok(0) => {}
        Ok(n) => {
            return Err(format!(
                "after the input ended, the peer received more: {:?}",
                String::from_utf8_lossy(&more[..n])
            ));
        }
        Err(e) if is_timeout(&e) => {
            return Err(session.fail(format!(
                "the input ended, but {WAIT:?} later the peer had not seen the end of the \
                 stream. Call shutdown(Shutdown::Write) on the socket when the input ends: it \
                 tells the peer \"nothing more from me\". Dropping a try_clone()d handle does \
                 not, while another handle to the connection is open."
            )));
        }
        Err(e) => return Err(session.fail(format!("the peer could not read: {e}"))),
    }
    // The peer has the last word, and then closes.
    session.peer_says(b"see you\n")?;
    session.output_shows(
        "see you\n",
        "After the input ends, keep copying from the peer: it may still have things to say.",
    )?;
    session.close_peer()?;
    session.returns_ok(
        "the input ended and then the peer closed the connection",
        "When a read from the peer returns 0 bytes, the chat is over: return Ok(()).",
    )
}

pub fn returns_when_the_peer_closes_even_while_the_user_types_nothing(
    subject: Chat,
) -> Result<(), String> {
    let session = start(subject)?;
    session.peer_says(b"last words\n")?;
    session.output_shows("last words\n", "Copy what the peer sends to the output.")?;
    session.close_peer()?;
    session.returns_ok(
        "the peer closed the connection (the user typing nothing)",
        "When a read from the peer returns 0 bytes, the chat is over: return Ok(()), without \
         waiting for the keyboard thread, which may wait for a key for ever. And never loop \
         on a read that returned 0: it returns 0 again at once, for ever.",
    )
}
