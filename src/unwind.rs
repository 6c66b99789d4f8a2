//! All of the crate's panic handling: user code (jobs, the input iterator)
//! runs inside `catch`, so a panic becomes a value and never unwinds
//! through a worker.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use crate::JobPanic;

/// Runs `f`, turning a panic into a [`JobPanic`] that carries its message.
///
/// Unwind safety is asserted because a panicking job's state is dropped
/// with it, and the pool state that `f` may touch (the job queue and the
/// counters, around the input's `next`) is left consistent at
/// every point where user code can panic.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, JobPanic> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(into_job_panic)
}

fn into_job_panic(payload: Box<dyn Any + Send>) -> JobPanic {
    let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "Box<dyn Any>".to_owned()
    };
    // A payload whose destructor panics must not take the worker down with
    // it; such a payload is leaked instead.
    if let Err(second) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
    JobPanic::new(message)
}
