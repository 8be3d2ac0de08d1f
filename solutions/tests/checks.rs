//! The students' checks, run against the reference answers: every one must
//! pass here (CI also proves that every one fails on the untouched stubs).

use solutions as subject;

include!("../../exercises/tests/shared/checks_list.rs");

#[test]
fn every_check_of_every_exercise_has_a_test() {
    let listed: Vec<(String, Vec<String>)> = LISTED
        .iter()
        .map(|(e, checks)| {
            (
                e.to_string(),
                checks.iter().map(|c| c.to_string()).collect(),
            )
        })
        .collect();
    let defined: Vec<(String, Vec<String>)> = subject::checks::exercises()
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                e.checks.iter().map(|c| c.name.to_string()).collect(),
            )
        })
        .collect();
    pretty_assertions::assert_eq!(
        defined,
        listed,
        "exercises/tests/shared/checks_list.rs must list every check of exercises/src/checks/, in order"
    );
}
