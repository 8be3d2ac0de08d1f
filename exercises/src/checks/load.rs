//! Checks of exercise 08, `run_load`.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use crate::shared::load::Report;

/// The function under test.
pub type RunLoad = fn(TcpStream, &[String], Duration) -> io::Result<Report>;

pub fn checks(subject: RunLoad) -> Vec<super::Check> {
    checks!(subject => reports_something)
}

fn reports_something(_subject: RunLoad) -> Result<(), String> {
    Err("not written yet".into())
}
