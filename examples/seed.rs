//! The Go seed's demo, in wpool: the smallest complete program.
//!
//! The Go original generates 1,000 jobs whose id is the decimal `i`, with
//! the type tag `"anyType"` and the metadata `"foo" => "foo"`; each job
//! returns `2 * i`; five workers run them under a cancellable context, and
//! the results are read from one channel. Here the results are read like an
//! iterator, and every one is checked:
//!
//! ```text
//! cargo run --example seed
//! ```

use std::collections::HashSet;
use std::error::Error;

use wpool::{Context, Job, WorkerPool};

const JOBS: u64 = 1_000;

fn main() -> Result<(), Box<dyn Error>> {
    let ctx = Context::with_cancel(&Context::background());
    let pool = WorkerPool::new(5)?;
    let jobs = (0..JOBS).map(|i| {
        Job::new(i.to_string(), i)
            .with_kind("anyType")
            .with_meta("foo", "foo")
    });
    let run = pool.run(&ctx, jobs, |_ctx, i: u64| Ok::<u64, String>(2 * i))?;

    let mut seen = HashSet::new();
    let mut sum = 0;
    for result in run {
        let id = result.id().as_str().ok_or("a string id")?.to_owned();
        let i: u64 = id.parse()?;
        let value = *result
            .value()
            .ok_or_else(|| format!("job {id} did not succeed"))?;
        if value != 2 * i {
            return Err(format!("job {id} returned {value}, not {}", 2 * i).into());
        }
        let descriptor = result.descriptor();
        if descriptor.kind() != "anyType" || descriptor.metadata().get("foo") != Some("foo") {
            return Err(format!("job {id} lost its descriptor: {descriptor:?}").into());
        }
        if !seen.insert(id.clone()) {
            return Err(format!("job {id} came back twice").into());
        }
        sum += value;
    }
    if seen.len() as u64 != JOBS {
        return Err(format!("{} of {JOBS} jobs came back", seen.len()).into());
    }
    ctx.cancel(); // done: release the context, as Go's `defer cancel()` does
    println!("seed: {JOBS} jobs on 5 workers, every id seen once, every value 2*i, sum {sum}");
    Ok(())
}
