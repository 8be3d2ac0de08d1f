//! Wrong answers to echo_server.

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
