//! Wrong answers to console_router.

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
