//! Exercise 08, `load`: the report of a load run.

// ANCHOR: report
/// What a load run saw, line by line. Always
/// `in_order + reordered.len() + lost.len() == lines sent`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Lines that came back whole, after every line sent before them.
    pub in_order: usize,
    /// The index (in the lines sent) of each line that came back whole,
    /// but after a line that was sent after it. In the order they came.
    pub reordered: Vec<usize>,
    /// The index of each line that never came back whole, in the order
    /// the lines were sent.
    pub lost: Vec<usize>,
    /// Every reply that was not a whole line still awaited: a piece of a
    /// line, two lines run together, bytes of two lines mixed, or a line
    /// that came back twice. As received, without the `\n`.
    pub torn: Vec<String>,
}

impl Report {
    /// True if every line came back whole, in order, and nothing else did.
    pub fn passed(&self) -> bool {
        self.reordered.is_empty() && self.lost.is_empty() && self.torn.is_empty()
    }
}
// ANCHOR_END: report
