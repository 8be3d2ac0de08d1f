//! The misbehaviour flags of `09_proxy`, read in the order they are given.
//!
//! A misbehaviour applies to both directions, unless an `--up` or `--down`
//! comes before it: then it applies to that direction only, and so do the
//! ones after it, until the next `--up` or `--down`:
//!
//! ```text
//! 09_proxy --slice 1                          # both directions sliced
//! 09_proxy --up --stall-after 10              # only what the client sends
//! 09_proxy --up --slice 1 --down --delay 100  # slice up, delay down
//! ```
//!
//! clap's derive gives each flag its values, not their order, so this type
//! implements clap's `Args` by hand: the flags themselves are derived
//! ([`Flags`]), and the order comes from `ArgMatches::indices_of`.

use clap::error::ErrorKind;
use clap::{ArgAction, ArgMatches, Args, Command, FromArgMatches};
use std::time::Duration;

use super::Toxics;
use crate::cli;

/// The longest wait a flag accepts, in milliseconds: one minute.
pub const MAX_MS: u64 = 60_000;

/// The largest byte count a flag accepts (4 GiB - 1, so it fits a `usize`
/// on every platform).
pub const MAX_BYTES: u64 = u32::MAX as u64;

// ANCHOR: flags
/// The flags, as clap sees them: every one may be given several times.
#[derive(Args, Debug)]
#[command(next_help_heading = "Misbehaviours \
    (each applies to both directions, or to the one named by the last --up or --down before it)")]
struct Flags {
    /// The misbehaviours after this flag apply only to what the client
    /// sends (up: client to server).
    #[arg(long, num_args = 0, default_missing_value = "true", action = ArgAction::Append)]
    up: Vec<bool>,
    /// The misbehaviours after this flag apply only to what the server
    /// sends (down: server to client).
    #[arg(long, num_args = 0, default_missing_value = "true", action = ArgAction::Append)]
    down: Vec<bool>,
    /// Forward in pieces of at most BYTES bytes (1 to 65536), each its own
    /// write (`--slice 1` is the cruellest).
    #[arg(long, value_name = "BYTES", action = ArgAction::Append,
          value_parser = cli::count(1..=65_536),
          allow_negative_numbers = true)]
    slice: Vec<usize>,
    /// Wait MS milliseconds (0 to 60000) after every write, so that the
    /// pieces of --slice arrive apart.
    #[arg(long, value_name = "MS", action = ArgAction::Append,
          value_parser = cli::count(0..=MAX_MS),
          allow_negative_numbers = true)]
    gap: Vec<usize>,
    /// After the first bytes arrive, wait up to MS milliseconds (1 to 60000)
    /// for more, and forward them all as one write: separate messages
    /// arrive as one.
    #[arg(long, value_name = "MS", action = ArgAction::Append,
          value_parser = cli::count(1..=MAX_MS),
          allow_negative_numbers = true)]
    merge: Vec<usize>,
    /// Hold every chunk MS milliseconds (0 to 60000) before forwarding it
    /// (latency).
    #[arg(long, value_name = "MS", action = ArgAction::Append,
          value_parser = cli::count(0..=MAX_MS),
          allow_negative_numbers = true)]
    delay: Vec<usize>,
    /// Make each --delay up to MS milliseconds (0 to 60000) shorter or
    /// longer, at random.
    #[arg(long, value_name = "MS", action = ArgAction::Append,
          value_parser = cli::count(0..=MAX_MS),
          allow_negative_numbers = true)]
    jitter: Vec<usize>,
    /// Forward at most this many bytes per second (1 to 1000000000), in
    /// pieces of a tenth of a second's worth (a slow link).
    #[arg(long, value_name = "BYTES_PER_SEC", action = ArgAction::Append,
          value_parser = cli::count(1..=1_000_000_000),
          allow_negative_numbers = true)]
    rate: Vec<usize>,
    /// Forward BYTES bytes (0 to 4294967295), then nothing more: what follows
    /// is read and dropped, and the connection stays open, as with a hung peer.
    #[arg(long, value_name = "BYTES", action = ArgAction::Append,
          value_parser = cli::count(0..=MAX_BYTES),
          allow_negative_numbers = true)]
    stall_after: Vec<usize>,
    /// Forward BYTES bytes (0 to 4294967295); when the sender sends more,
    /// reset its connection (it reads "connection reset") and close the
    /// other side's cleanly.
    #[arg(long, value_name = "BYTES", action = ArgAction::Append,
          value_parser = cli::count(0..=MAX_BYTES),
          allow_negative_numbers = true)]
    reset_after: Vec<usize>,
    /// Forward BYTES bytes (0 to 4294967295), then close both connections
    /// cleanly: both sides read the end of the stream, as if the other had
    /// hung up.
    #[arg(long, value_name = "BYTES", action = ArgAction::Append,
          value_parser = cli::count(0..=MAX_BYTES),
          allow_negative_numbers = true)]
    close_after: Vec<usize>,
}
// ANCHOR_END: flags

/// The misbehaviours of each direction, from the command line. Use it with
/// `#[command(flatten)]` in a clap `Parser`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Misbehaviours {
    pub up: Toxics,
    pub down: Toxics,
}

/// One flag occurrence: where it was, and what it says.
enum Said {
    Only(super::Direction),
    Toxic(fn(&mut Toxics, u64), u64),
}

impl FromArgMatches for Misbehaviours {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let flags = Flags::from_arg_matches(matches)?;
        let mut said: Vec<(usize, &str, Said)> = Vec::new();
        let mut at = |id: &'static str, what: Vec<Said>| {
            let indices = matches.indices_of(id).into_iter().flatten();
            said.extend(indices.zip(what).map(|(index, what)| (index, id, what)));
        };
        let marks = |dir, count: usize| (0..count).map(|_| Said::Only(dir)).collect();
        at("up", marks(super::Direction::Up, flags.up.len()));
        at("down", marks(super::Direction::Down, flags.down.len()));
        let toxic = |values: Vec<usize>, set: fn(&mut Toxics, u64)| {
            values
                .into_iter()
                .map(|n| Said::Toxic(set, n as u64))
                .collect()
        };
        at(
            "slice",
            toxic(flags.slice, |t, n| t.slice = Some(n as usize)),
        );
        at(
            "gap",
            toxic(flags.gap, |t, n| t.gap = Duration::from_millis(n)),
        );
        at(
            "merge",
            toxic(flags.merge, |t, n| t.merge = Some(Duration::from_millis(n))),
        );
        at(
            "delay",
            toxic(flags.delay, |t, n| t.delay = Duration::from_millis(n)),
        );
        at(
            "jitter",
            toxic(flags.jitter, |t, n| t.jitter = Duration::from_millis(n)),
        );
        at("rate", toxic(flags.rate, |t, n| t.rate = Some(n)));
        at(
            "stall_after",
            toxic(flags.stall_after, |t, n| t.stall_after = Some(n)),
        );
        at(
            "reset_after",
            toxic(flags.reset_after, |t, n| t.reset_after = Some(n)),
        );
        at(
            "close_after",
            toxic(flags.close_after, |t, n| t.close_after = Some(n)),
        );
        said.sort_by_key(|(index, _, _)| *index);

        let mut result = Misbehaviours::default();
        // The direction named last, and whether a misbehaviour followed it.
        let mut only: Option<(super::Direction, bool)> = None;
        for (_, id, what) in said {
            match what {
                Said::Only(dir) => {
                    if let Some((before, false)) = only {
                        return Err(dangling(before, Some(id)));
                    }
                    only = Some((dir, false));
                }
                Said::Toxic(set, n) => match &mut only {
                    None => {
                        set(&mut result.up, n);
                        set(&mut result.down, n);
                    }
                    Some((dir, followed)) => {
                        *followed = true;
                        match dir {
                            super::Direction::Up => set(&mut result.up, n),
                            super::Direction::Down => set(&mut result.down, n),
                        }
                    }
                },
            }
        }
        if let Some((dir, false)) = only {
            return Err(dangling(dir, None));
        }
        Ok(result)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Misbehaviours::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The error for an `--up` or `--down` that no misbehaviour follows.
fn dangling(dir: super::Direction, next: Option<&str>) -> clap::Error {
    let name = dir.name();
    let after = match next {
        Some(next) => format!(", but --{next} comes next"),
        None => " at the end".to_string(),
    };
    clap::Error::raw(
        ErrorKind::InvalidValue,
        format!(
            "--{name} applies to the misbehaviours after it (as in `--{name} --slice 1`){after}"
        ),
    )
}

impl Args for Misbehaviours {
    fn augment_args(cmd: Command) -> Command {
        Flags::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Flags::augment_args_for_update(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use pretty_assertions::assert_eq;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        misbehaviours: Misbehaviours,
    }

    fn parse(args: &[&str]) -> Result<Misbehaviours, String> {
        let argv = std::iter::once("09_proxy").chain(args.iter().copied());
        Cli::try_parse_from(argv)
            .map(|cli| cli.misbehaviours)
            .map_err(|e| e.to_string())
    }

    fn sliced(n: usize) -> Toxics {
        Toxics {
            slice: Some(n),
            ..Toxics::default()
        }
    }

    #[test]
    fn a_misbehaviour_without_a_direction_applies_to_both() {
        let m = parse(&["--slice", "1"]).unwrap();
        assert_eq!(m.up, sliced(1));
        assert_eq!(m.down, sliced(1));
    }

    #[test]
    fn up_and_down_apply_to_the_misbehaviours_after_them() {
        let m = parse(&[
            "--gap",
            "5",
            "--up",
            "--slice",
            "2",
            "--down",
            "--delay=100",
        ])
        .unwrap();
        let gap = Duration::from_millis(5);
        assert_eq!(
            m.up,
            Toxics {
                slice: Some(2),
                gap,
                ..Toxics::default()
            }
        );
        assert_eq!(
            m.down,
            Toxics {
                delay: Duration::from_millis(100),
                gap,
                ..Toxics::default()
            }
        );
    }

    #[test]
    fn the_last_value_for_a_direction_wins() {
        let m = parse(&["--slice", "1", "--up", "--slice", "4"]).unwrap();
        assert_eq!((m.up, m.down), (sliced(4), sliced(1)));
    }

    #[test]
    fn byte_limits_and_rates_are_read() {
        let m = parse(&[
            "--up",
            "--stall-after",
            "3",
            "--reset-after",
            "0",
            "--close-after",
            "9",
            "--rate",
            "1000",
            "--merge",
            "50",
            "--jitter",
            "7",
        ])
        .unwrap();
        assert_eq!(
            m.up,
            Toxics {
                stall_after: Some(3),
                reset_after: Some(0),
                close_after: Some(9),
                rate: Some(1000),
                merge: Some(Duration::from_millis(50)),
                jitter: Duration::from_millis(7),
                ..Toxics::default()
            }
        );
        assert!(m.down.is_none());
    }

    #[test]
    fn a_direction_without_a_misbehaviour_after_it_is_an_error() {
        let e = parse(&["--slice", "1", "--up"]).unwrap_err();
        assert!(
            e.contains("--up applies to the misbehaviours after it"),
            "{e}"
        );
        let e = parse(&["--down", "--up", "--slice", "1"]).unwrap_err();
        assert!(e.contains("--down applies to"), "{e}");
        assert!(e.contains("but --up comes next"), "{e}");
    }

    #[test]
    fn numbers_outside_their_range_are_refused_with_the_range() {
        let e = parse(&["--slice", "0"]).unwrap_err();
        assert!(e.contains("0 is not a whole number from 1 to 65536"), "{e}");
        let e = parse(&["--delay", "60001"]).unwrap_err();
        assert!(e.contains("from 0 to 60000"), "{e}");
        let e = parse(&["--rate", "-5"]).unwrap_err();
        assert!(
            e.contains("--rate") && e.contains("from 1 to 1000000000"),
            "{e}"
        );
    }
}
