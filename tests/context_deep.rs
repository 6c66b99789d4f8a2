//! Deep chains of contexts, each made with `with_cancel` from the one
//! before: cancelling the root ends every one of them, and dropping them
//! frees them, without recursion that would overflow a thread's stack. Each
//! test runs on a thread with the default 2 MiB stack, where a recursive
//! cancel or drop of such a chain aborts the whole process.

mod common;

use std::time::{Duration, Instant};

use common::watchdog;
use crossbeam_channel::TryRecvError;
use wpool::{Context, ContextError};

/// The default stack of a spawned Rust thread, set here explicitly so that
/// `RUST_MIN_STACK` cannot hide a recursion.
const STACK: usize = 2 * 1024 * 1024;

/// Runs `body` on a thread with a [`STACK`]-sized stack, under the watchdog.
fn on_small_stack<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    watchdog(move || {
        std::thread::Builder::new()
            .name("small-stack".into())
            .stack_size(STACK)
            .spawn(body)
            .expect("spawn a thread")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A chain of `depth` contexts under the background one, root first.
fn chain(depth: usize) -> Vec<Context> {
    let mut chain = Vec::with_capacity(depth);
    chain.push(Context::with_cancel(&Context::background()));
    for _ in 1..depth {
        let next = Context::with_cancel(chain.last().unwrap());
        chain.push(next);
    }
    chain
}

fn assert_live(ctx: &Context) {
    assert_eq!(ctx.err(), None);
    assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Empty));
}

fn assert_cancelled(ctx: &Context) {
    assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(ctx.err(), Some(ContextError::Cancelled));
}

#[test]
fn cancelling_the_root_of_a_100_000_deep_chain_ends_the_leaf() {
    on_small_stack(|| {
        // Only the root and the leaf are kept: the leaf holds the chain.
        let root = Context::with_cancel(&Context::background());
        let mut leaf = root.clone();
        for _ in 1..100_000 {
            leaf = Context::with_cancel(&leaf);
        }
        assert_live(&leaf);
        assert!(root.cancel());
        assert_cancelled(&root);
        assert_cancelled(&leaf);
        assert!(!leaf.cancel(), "the leaf had ended with the root");
        drop(leaf);
        drop(root);
    });
}

#[test]
fn a_1_000_000_deep_chain_cancels_and_drops_leaf_handles_first() {
    on_small_stack(|| {
        let start = Instant::now();
        let chain = chain(1_000_000);
        assert_live(chain.last().unwrap());
        assert!(chain[0].cancel());
        assert_cancelled(chain.last().unwrap());
        assert_cancelled(&chain[chain.len() / 2]);
        // Every handle but the root's in order, root to leaf: the last one
        // dropped frees the whole chain below the root at once.
        let mut handles = chain.into_iter();
        let root = handles.next().unwrap();
        handles.for_each(drop);
        assert_cancelled(&root);
        drop(root);
        eprintln!(
            "1,000,000 deep, cancelled and dropped in {:?}",
            start.elapsed()
        );
    });
}

#[test]
fn a_1_000_000_deep_live_chain_drops_in_either_order() {
    on_small_stack(|| {
        let start = Instant::now();
        // Leaf handles in order, the root last: the leaf's drop frees the
        // whole live chain below the root, each context forgetting itself in
        // its parent on the way.
        let mut handles = chain(1_000_000).into_iter();
        let root = handles.next().unwrap();
        handles.for_each(drop);
        assert_live(&root);
        // The root still works, and what was below it is gone.
        let child = Context::with_cancel(&root);
        assert!(root.cancel());
        assert_cancelled(&child);
        drop((root, child));

        // The reverse: the leaf first, the root last.
        let mut chain = chain(1_000_000);
        let root = chain[0].clone();
        while let Some(ctx) = chain.pop() {
            drop(ctx);
        }
        assert_live(&root);
        assert!(root.cancel());
        eprintln!(
            "1,000,000 deep, live, dropped twice in {:?}",
            start.elapsed()
        );
    });
}

#[test]
fn a_deep_chain_under_a_deadline_expires_as_one() {
    on_small_stack(|| {
        let root = Context::with_timeout(&Context::background(), Duration::from_millis(20));
        let mut leaf = root.clone();
        for _ in 1..100_000 {
            leaf = Context::with_cancel(&leaf);
        }
        assert_eq!(
            leaf.done().recv_timeout(common::PATIENCE),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected),
            "the root's deadline ends the leaf"
        );
        assert_eq!(leaf.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(root.err(), Some(ContextError::DeadlineExceeded));
    });
}
