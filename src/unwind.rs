//! All of the crate's panic handling: user code (jobs, the input iterator)
//! runs inside `catch`, so a panic becomes a value and never unwinds
//! through a worker.

use std::any::Any;
use std::borrow::Cow;
use std::error::Error;
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
    // Formatting runs the payload's own `Display` (an error's, say), which
    // may panic too; that costs the message, never the worker.
    let message =
        panic::catch_unwind(AssertUnwindSafe(|| message_of(&*payload))).unwrap_or_else(|second| {
            std::mem::forget(second);
            "a panic whose payload panicked when formatted".to_owned()
        });
    // A payload whose destructor panics must not take the worker down with
    // it; such a payload is leaked instead.
    if let Err(second) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
    JobPanic::new(message)
}

/// The message `JobPanic` documents for each kind of payload: the text of a
/// string, the type and value of a payload of a known type, and a fixed
/// text for the rest (a `dyn Any` cannot name its type).
fn message_of(payload: &(dyn Any + Send)) -> String {
    macro_rules! text {
        ($($t:ty),*) => {$(
            if let Some(text) = payload.downcast_ref::<$t>() {
                return AsRef::<str>::as_ref(text).to_owned();
            }
        )*};
    }
    macro_rules! typed {
        ($($t:ty),*) => {$(
            if let Some(value) = payload.downcast_ref::<$t>() {
                return format!(concat!("a panic with a payload of type ", stringify!($t), ": {}"), value);
            }
        )*};
    }
    text!(&'static str, String, Box<str>, Cow<'static, str>);
    typed!(
        i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool, char
    );
    typed!(
        Box<dyn Error + Send + Sync>,
        Box<dyn Error + Send>,
        std::io::Error
    );
    "a panic with a non-string payload of unknown type".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: impl Any + Send) -> String {
        message_of(&payload)
    }

    #[test]
    fn every_documented_payload_type_gives_its_message() {
        assert_eq!(message("static"), "static");
        assert_eq!(message(String::from("owned")), "owned");
        assert_eq!(message(Box::<str>::from("boxed")), "boxed");
        assert_eq!(message(Cow::<'static, str>::Borrowed("cow")), "cow");
        assert_eq!(message(42u32), "a panic with a payload of type u32: 42");
        assert_eq!(message(-1i64), "a panic with a payload of type i64: -1");
        assert_eq!(message(1.5f64), "a panic with a payload of type f64: 1.5");
        assert_eq!(message(true), "a panic with a payload of type bool: true");
        assert_eq!(message('x'), "a panic with a payload of type char: x");
        let err: Box<dyn Error + Send + Sync> = "disk on fire".into();
        assert_eq!(
            message(err),
            "a panic with a payload of type Box<dyn Error + Send + Sync>: disk on fire"
        );
        let err: Box<dyn Error + Send> = Box::new(std::fmt::Error);
        assert_eq!(
            message(err),
            "a panic with a payload of type Box<dyn Error + Send>: \
             an error occurred when formatting an argument"
        );
        let err = std::io::Error::other("pipe burst");
        assert_eq!(
            message(err),
            "a panic with a payload of type std::io::Error: pipe burst"
        );
        assert_eq!(
            message(vec![1u8]),
            "a panic with a non-string payload of unknown type"
        );
        assert_eq!(
            message(()),
            "a panic with a non-string payload of unknown type"
        );
    }

    #[test]
    fn a_payload_that_panics_when_formatted_still_gives_a_message() {
        #[derive(Debug)]
        struct Bad;
        impl std::fmt::Display for Bad {
            fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                panic!("test panic: Display of a panic payload")
            }
        }
        impl Error for Bad {}
        let payload: Box<dyn Error + Send + Sync> = Box::new(Bad);
        let panic = catch(|| std::panic::panic_any(payload)).unwrap_err();
        assert_eq!(
            panic.message(),
            "a panic whose payload panicked when formatted"
        );
    }
}
