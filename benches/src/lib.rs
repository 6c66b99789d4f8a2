//! wpool's benchmarks, a package of their own so that the crate's build
//! (`cargo test`, the examples) never compiles criterion, plotters, rayon or
//! `threadpool`. Run from the repository's root:
//!
//! ```text
//! cargo run --release -p wpool-bench -- --quick     # the peer table (bin `peers`)
//! cargo run --release -p wpool-bench --bin memory   # memory from 1M to 10M jobs
//! cargo bench -p wpool-bench                        # the criterion benches
//! ```
//!
//! This library holds what the programs and the benches share.

pub mod hand_pool;
