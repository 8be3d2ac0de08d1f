//! Checks of exercise 07, `Pool`.

use std::io;

use crate::shared::pool::{Job, Refused};

/// The pool under test: its three functions, for any type `P`.
pub struct Api<P> {
    pub new: fn(usize, usize) -> io::Result<P>,
    pub submit: fn(&P, Job) -> Result<(), Refused>,
    pub shutdown: fn(&P) -> usize,
}

// Not derived: a derive would require `P: Copy`, and only the functions are copied.
impl<P> Clone for Api<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for Api<P> {}

pub fn checks<P: Send + Sync + 'static>(subject: Api<P>) -> Vec<super::Check> {
    checks!(subject => runs_a_job)
}

fn runs_a_job<P: Send + Sync + 'static>(api: Api<P>) -> Result<(), String> {
    let pool = (api.new)(1, 1).map_err(|e| e.to_string())?;
    (api.submit)(&pool, Box::new(|| {})).map_err(|e| format!("{e:?}"))?;
    (api.shutdown)(&pool);
    Ok(())
}
