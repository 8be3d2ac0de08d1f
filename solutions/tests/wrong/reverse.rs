//! Wrong answers to reverse.

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
