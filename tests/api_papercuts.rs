//! What a first user of the API runs into: integer literal ids, `?` on a
//! context's error in a `String` job, `?` on a job's failure, the result's
//! helpers, `?` on a start error in an `io::Result` function, and what a
//! panic with an odd payload reports.

mod common;

use std::collections::HashSet;
use std::convert::Infallible;
use std::error::Error;
use std::io;
use std::time::Duration;

use common::{quiet_test_panics, watchdog};
use wpool::{
    Context, ContextError, Job, JobDescriptor, JobFailure, JobId, NextTimeoutError, Outcome, Run,
    StartError, TryNextError, WorkerPool,
};

const SOON: Duration = Duration::from_secs(5);

// Papercut 1: integer literals as ids.

#[test]
fn a_bare_integer_literal_is_an_id() {
    let job = Job::new(1, "args");
    assert_eq!(job.id().as_u64(), Some(1));
    assert_eq!(JobDescriptor::new(2).id().as_u64(), Some(2));
    let ids: Vec<JobId> = (0..3).map(|i| Job::new(i, ()).id().clone()).collect();
    assert_eq!(ids, [0u64, 1, 2].map(JobId::from));
}

#[test]
fn a_number_is_the_same_id_whatever_its_type() {
    let same = [
        JobId::from(5i8),
        JobId::from(5i16),
        JobId::from(5i32),
        JobId::from(5i64),
        JobId::from(5isize),
        JobId::from(5u8),
        JobId::from(5usize),
        JobId::from(5u64),
    ];
    for id in &same {
        assert_eq!(id, &JobId::from(5));
        assert_eq!(
            (id.as_u64(), id.as_i64(), id.as_str()),
            (Some(5), Some(5), None)
        );
        assert_eq!(id.to_string(), "5");
        assert_eq!(format!("{id:?}"), "JobId(5)");
    }
    let set: HashSet<JobId> = same.into_iter().collect();
    assert_eq!(set.len(), 1);
}

#[test]
fn negative_numbers_are_ids_of_their_own_shown_with_their_sign() {
    let minus_one = JobId::from(-1);
    assert_eq!(minus_one, JobId::from(-1i64));
    assert_eq!(minus_one, JobId::from(-1i8));
    // Not wrapped around into a large unsigned number.
    assert_ne!(minus_one, JobId::from(u64::MAX));
    assert_eq!(minus_one.as_u64(), None);
    assert_eq!(minus_one.as_i64(), Some(-1));
    assert_eq!(minus_one.as_str(), None);
    assert_eq!(minus_one.to_string(), "-1");
    assert_eq!(format!("{minus_one:?}"), "JobId(-1)");
    assert_eq!(JobId::from(i64::MIN).to_string(), i64::MIN.to_string());
    assert_eq!(JobId::from(i64::MAX), JobId::from(i64::MAX as u64));
    assert_eq!(JobId::from(u64::MAX).as_i64(), None);

    // Numbers order as numbers, and before strings.
    let mut ids = [
        JobId::from("a"),
        JobId::from(u64::MAX),
        JobId::from(0),
        JobId::from(-1),
        JobId::from(i64::MIN),
        JobId::from(7u8),
    ];
    ids.sort();
    assert_eq!(
        ids.iter().map(JobId::to_string).collect::<Vec<_>>(),
        [
            i64::MIN.to_string(),
            "-1".into(),
            "0".into(),
            "7".into(),
            u64::MAX.to_string(),
            "a".into()
        ]
    );
}

#[test]
fn negative_ids_come_back_with_their_results() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let jobs = (-5..5).map(|i| Job::new(i, i));
        let run = pool
            .run(&Context::background(), jobs, |_, i: i32| Ok::<_, ()>(i))
            .unwrap();
        let mut seen = 0;
        for result in run {
            assert_eq!(
                result.id().as_i64(),
                Some(i64::from(*result.value().unwrap()))
            );
            seen += 1;
        }
        assert_eq!(seen, 10);
    });
}

// Papercut 2: `ctx.check()?` whatever the job's error type.

#[test]
fn context_errors_convert_into_string_errors() {
    watchdog(|| {
        let ctx = Context::with_cancel(&Context::background());
        let pool = WorkerPool::new(1).unwrap();
        let (submitter, mut run) = pool
            .start(&ctx, |ctx, n: u32| -> Result<u32, String> {
                ctx.check()?;
                ctx.sleep(Duration::from_millis(1))?;
                Ok(n)
            })
            .unwrap();
        submitter.submit(Job::new(1, 1)).unwrap();
        assert_eq!(run.next_timeout(SOON).unwrap().into_value(), Some(1));
        drop(submitter);
        assert_eq!(
            run.next_timeout(SOON).unwrap_err(),
            NextTimeoutError::Finished
        );

        let err: String = ContextError::Cancelled.into();
        assert_eq!(err, "context cancelled");
        assert_eq!(
            String::from(ContextError::DeadlineExceeded),
            ContextError::DeadlineExceeded.to_string()
        );
        ctx.cancel();
        let step = |ctx: &Context| -> Result<(), String> { Ok(ctx.check()?) };
        assert_eq!(step(&ctx), Err("context cancelled".to_string()));
    });
}

#[test]
fn context_errors_convert_into_boxed_errors() {
    watchdog(|| {
        type BoxError = Box<dyn Error + Send + Sync>;
        let ctx = Context::with_timeout(&Context::background(), Duration::from_millis(10));
        let pool = WorkerPool::new(1).unwrap();
        let run = pool
            .run(&ctx, [Job::new(1, ())], |ctx, ()| -> Result<(), BoxError> {
                ctx.sleep(Duration::from_secs(60))?;
                Ok(())
            })
            .unwrap();
        let result = run.into_iter().next().unwrap();
        assert!(result.outcome().is_cancelled());
        let err = result.error().unwrap();
        assert_eq!(
            err.downcast_ref::<ContextError>(),
            Some(&ContextError::DeadlineExceeded)
        );
    });
}

// Papercut 3: `JobFailure` shows the job's error and is an error with `?`.

fn sum_of(run: Run<u32, u32, String>) -> Result<u32, Box<dyn Error>> {
    let mut sum = 0;
    for result in run {
        sum += result.into_outcome().into_result()?;
    }
    Ok(sum)
}

fn sum_of_sync(run: Run<u32, u32, String>) -> Result<u32, Box<dyn Error + Send + Sync>> {
    let mut sum = 0;
    for result in run {
        sum += result.into_result()?;
    }
    Ok(sum)
}

fn run_of(pool: &WorkerPool, fail_on: u32) -> Run<u32, u32, String> {
    pool.run(
        &Context::background(),
        (0..10).map(|i| Job::new(i, i)),
        move |_, i: u32| {
            if i == fail_on {
                Err("disk on fire".to_string())
            } else {
                Ok(i)
            }
        },
    )
    .unwrap()
}

#[test]
fn a_string_failure_passes_through_question_mark_with_its_message() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        assert_eq!(sum_of(run_of(&pool, 99)).unwrap(), 45);
        assert_eq!(sum_of_sync(run_of(&pool, 99)).unwrap(), 45);
        let err = sum_of(run_of(&pool, 3)).unwrap_err();
        assert_eq!(err.to_string(), "job failed: disk on fire");
        assert!(err.source().is_none());
        let failure = err.downcast::<JobFailure<String>>().unwrap();
        assert_eq!(*failure, JobFailure::Failed("disk on fire".to_string()));
        let err = sum_of_sync(run_of(&pool, 3)).unwrap_err();
        assert_eq!(err.to_string(), "job failed: disk on fire");
    });
}

#[test]
fn every_kind_of_failure_shows_the_jobs_error() {
    let failed = JobFailure::Failed("disk on fire");
    assert_eq!(failed.to_string(), "job failed: disk on fire");
    let cancelled = JobFailure::Cancelled(ContextError::Cancelled);
    assert_eq!(cancelled.to_string(), "job cancelled: context cancelled");
    assert!(Error::source(&cancelled).is_none());
    let io_failure = JobFailure::Failed(io::Error::other("pipe burst"));
    assert_eq!(io_failure.to_string(), "job failed: pipe burst");

    // A failure of a job that cannot fail is still an error type.
    fn takes_error(_: &dyn Error) {}
    let never: Result<u8, JobFailure<Infallible>> = Outcome::Succeeded(1).into_result();
    if let Err(failure) = &never {
        takes_error(failure);
    }

    // An error type without Display keeps Debug.
    let unit: JobFailure<()> = JobFailure::Cancelled(());
    assert_eq!(format!("{unit:?}"), "Cancelled(())");
}

#[test]
fn a_panic_failure_shows_the_panic_once() {
    watchdog(|| {
        quiet_test_panics();
        let pool = WorkerPool::new(1).unwrap();
        let run = pool
            .run(
                &Context::background(),
                [Job::new(1, ())],
                |_, ()| -> Result<(), String> { panic!("test panic papercut") },
            )
            .unwrap();
        let failure = run.into_iter().next().unwrap().into_result().unwrap_err();
        assert_eq!(failure.to_string(), "job panicked: test panic papercut");
        assert!(Error::source(&failure).is_none());
    });
}

// Papercut 4: `JobResult` has `Outcome`'s helpers.

#[test]
fn job_results_have_the_helpers_of_outcomes() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let jobs = ["1", "two", "3"]
            .into_iter()
            .enumerate()
            .map(|(i, s)| Job::new(i, s));
        let run = pool
            .run(&Context::background(), jobs, |_, s: &str| {
                s.parse::<u32>().map_err(|_| format!("not a number: {s}"))
            })
            .unwrap();
        let mut results: Vec<_> = run.collect();
        results.sort_by_key(|r| r.id().clone());
        for result in &results {
            let outcome = result.outcome();
            assert_eq!(result.is_succeeded(), outcome.is_succeeded());
            assert_eq!(result.is_succeeded(), result.is_ok());
            assert_eq!(result.error(), outcome.error());
            assert_eq!(result.clone().into_result(), outcome.clone().into_result());
        }
        assert_eq!(results[0].clone().into_result(), Ok(1));
        assert_eq!(
            results[1].error().map(String::as_str),
            Some("not a number: two")
        );
        assert_eq!(
            results[1].clone().into_result(),
            Err(JobFailure::Failed("not a number: two".to_string()))
        );
        assert!(!results[1].is_succeeded());
        assert_eq!(results[2].error(), None);
    });
}

// Papercut 5: a start error converts into an `io::Error`.

fn start_in_io_function(pool: &WorkerPool) -> io::Result<u64> {
    let jobs = (0..10u64).map(|i| Job::new(i, i));
    let run = pool.run(&Context::background(), jobs, |_, i| Ok::<_, ()>(i))?;
    Ok(run.filter_map(|r| r.into_value()).sum())
}

#[test]
fn a_start_error_converts_into_an_io_error() {
    watchdog(|| {
        assert_eq!(
            start_in_io_function(&WorkerPool::new(2).unwrap()).unwrap(),
            45
        );

        // No system grants a 1 TiB stack.
        let pool = WorkerPool::builder()
            .thread_name("iostart")
            .stack_size(wpool::MAX_STACK_SIZE)
            .build()
            .unwrap();
        let err = start_in_io_function(&pool).unwrap_err();
        let start_error = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap_err();
        let os_error = start_error.into_io_error();
        assert_eq!(err.kind(), os_error.kind());
        assert!(
            err.to_string()
                .starts_with("failed to start thread \"iostart-")
        );
        let inner = err.get_ref().unwrap();
        assert!(inner.is::<StartError>());
        let source = err.source().expect("the operating system's error");
        assert_eq!(source.to_string(), os_error.to_string());
        let start_error = err.into_inner().unwrap().downcast::<StartError>().unwrap();
        assert!(start_error.thread_name().starts_with("iostart-"));
    });
}

// Papercut 6: the non-exhaustive enums still match with a wildcard arm
// (that one without it does not compile is pinned by doc-tests).

#[test]
fn non_exhaustive_enums_match_with_a_wildcard() {
    let describe = |outcome: &Outcome<u8, u8>| match outcome {
        Outcome::Succeeded(_) => "succeeded",
        Outcome::Failed(_) => "failed",
        Outcome::Cancelled(_) => "cancelled",
        Outcome::Panicked(_) => "panicked",
        _ => "other",
    };
    assert_eq!(describe(&Outcome::Failed(1)), "failed");
    let try_next = |err: TryNextError| match err {
        TryNextError::Empty => "empty",
        TryNextError::Finished => "finished",
        _ => "other",
    };
    assert_eq!(try_next(TryNextError::Empty), "empty");
    let next_timeout = |err: NextTimeoutError| match err {
        NextTimeoutError::Timeout => "timeout",
        NextTimeoutError::Finished => "finished",
        _ => "other",
    };
    assert_eq!(next_timeout(NextTimeoutError::Finished), "finished");
}

// Papercut 8: a panic's payload keeps what can be known of it.

#[test]
fn panics_with_non_string_payloads_report_their_type_and_value() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let run = pool
            .run(
                &Context::background(),
                (0..6).map(|i| Job::new(i, i)),
                |_, i: i32| -> Result<i32, ()> {
                    // resume_unwind skips the panic hook, which keeps the
                    // test's output clean.
                    match i {
                        0 => std::panic::resume_unwind(Box::new(42u32)),
                        1 => std::panic::resume_unwind(Box::new(-7i64)),
                        2 => {
                            let err: Box<dyn Error + Send + Sync> = "disk on fire".into();
                            std::panic::resume_unwind(Box::new(err))
                        }
                        3 => std::panic::resume_unwind(Box::new(vec![1u8])),
                        4 => std::panic::resume_unwind(Box::new("test panic static str")),
                        _ => Ok(i),
                    }
                },
            )
            .unwrap();
        let mut messages: Vec<(i64, String)> = run
            .filter_map(|r| {
                let id = r.id().as_i64().unwrap();
                match r.into_outcome() {
                    Outcome::Panicked(panic) => Some((id, panic.message().to_owned())),
                    _ => None,
                }
            })
            .collect();
        messages.sort();
        assert_eq!(
            messages,
            [
                (0, "a panic with a payload of type u32: 42".to_string()),
                (1, "a panic with a payload of type i64: -7".to_string()),
                (
                    2,
                    "a panic with a payload of type Box<dyn Error + Send + Sync>: disk on fire"
                        .to_string()
                ),
                (
                    3,
                    "a panic with a non-string payload of unknown type".to_string()
                ),
                (4, "test panic static str".to_string()),
            ]
        );
    });
}

#[test]
fn an_input_panic_with_a_non_string_payload_reports_it_too() {
    watchdog(|| {
        let pool = WorkerPool::new(1).unwrap();
        let jobs = (0..10u64).map(|i| {
            if i == 3 {
                std::panic::resume_unwind(Box::new(3u64));
            }
            Job::new(i, i)
        });
        let run = pool
            .run(&Context::background(), jobs, |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        let summary = run.wait();
        assert_eq!(
            summary.input_panic.unwrap().message(),
            "a panic with a payload of type u64: 3"
        );
    });
}

// Papercut 9: a job function that never fails names its error type; any
// one of these ways will do (nothing in `run`'s signature can pick one).

#[test]
fn the_ways_to_name_an_infallible_jobs_error_type() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let ctx = Context::background();
        let jobs = || (0..10u64).map(|i| Job::new(i, i));
        fn sum<E>(run: Run<u64, u64, E>) -> u64 {
            run.filter_map(|r| r.into_value()).sum()
        }

        let in_the_ok = pool.run(&ctx, jobs(), |_, i| Ok::<_, ()>(i * 2)).unwrap();
        assert_eq!(sum(in_the_ok), 90);
        let in_the_closure = pool
            .run(&ctx, jobs(), |_, i| -> Result<u64, Infallible> {
                Ok(i * 2)
            })
            .unwrap();
        assert_eq!(sum(in_the_closure), 90);
        let in_the_binding: Run<u64, u64, String> =
            pool.run(&ctx, jobs(), |_, i| Ok(i * 2)).unwrap();
        assert_eq!(sum(in_the_binding), 90);
    });
}

// Papercut 9, the fix: a plain map takes a plain function, so there is no
// error type to name, no `Job` to build and no id to read back.

#[test]
fn a_plain_map_names_no_error_type_and_builds_no_job() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let doubled: Vec<u64> = pool
            .map(&Context::background(), 0..10u64, |i| i * 2)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(doubled, (0..10).map(|i| i * 2).collect::<Vec<_>>());
        let indexed: Vec<(u64, u64)> = pool
            .map_unordered(&Context::background(), 0..10u64, |i| i * 2)
            .unwrap()
            .indexed()
            .map(|(index, output)| (index, output.unwrap()))
            .collect();
        assert!(indexed.iter().all(|&(index, output)| output == 2 * index));
    });
}
