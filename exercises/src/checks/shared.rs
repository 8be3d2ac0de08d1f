//! The types an exercise shares with its checks.
//!
//! A check that hands your code an `Event`, or compares the `Report` your
//! code returns, needs the very same type as your code. So those types live
//! here, in the checks' library, which your exercise's crate depends on;
//! each exercise file brings its own in with a `pub use` line. (Had each
//! exercise file defined them, the checks could not be compiled without
//! every exercise, and one exercise that does not compile would stop the
//! checks of all the others.)

/// Exercise 05, `console_router`.
pub mod console_router {
    use std::net::TcpStream;

    // ANCHOR: event
    /// What the room hears about, in the order it happened.
    #[derive(Debug)]
    pub enum Event {
        /// Client `id` connected; `stream` is the room's to write to.
        Joined { id: u64, stream: TcpStream },
        /// Client `id` disconnected.
        Left { id: u64 },
        /// The server's user typed a line on the console.
        Console(String),
    }
    // ANCHOR_END: event
}

/// Exercise 07, `pool`.
pub mod pool {
    // ANCHOR: pool
    /// A job for the pool: any code that can be sent to another thread and
    /// run there once.
    pub type Job = Box<dyn FnOnce() + Send + 'static>;

    /// Why `Pool::submit` gave a job back.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Refused {
        /// Every worker is busy and `queue` jobs already wait: try later.
        Busy,
        /// The pool is shutting down, or has shut down.
        ShutDown,
    }
    // ANCHOR_END: pool
}

/// Exercise 08, `load`.
pub mod load {
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
}
