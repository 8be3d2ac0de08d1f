//! The students' checks, run against the reference answers: every one must
//! pass here (CI also proves that every one fails on the untouched stubs).
//! `cargo test -p solutions threads` runs one exercise's.

fn main() -> std::process::ExitCode {
    let bound = solutions::bound_checks();
    // The same exercises, in the same order, as the students' list: a
    // check module bound here but missing there (or the other way round)
    // would go unnoticed otherwise.
    let listed: Vec<(&str, Vec<&str>)> = checks::exercises()
        .iter()
        .map(|e| (e.name, e.checks.clone()))
        .collect();
    let here: Vec<(&str, Vec<&str>)> = bound
        .iter()
        .map(|(e, checks)| (*e, checks.iter().map(|c| c.name).collect()))
        .collect();
    if listed != here {
        eprintln!(
            "solutions::bound_checks() and checks::exercises() disagree:\n{}",
            pretty_assertions::Comparison::new(&listed, &here)
        );
        return std::process::ExitCode::FAILURE;
    }
    checks::runner::suite(bound, |exercise| {
        format!("(the reference answer: solutions/src/{exercise}.rs)")
    })
}
