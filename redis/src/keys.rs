//! The names a deployment shares: three streams and one consumer group.

/// The Redis keys of one deployment, all made from one prefix: `P:jobs`,
/// `P:results`, `P:dead` and the group `P:workers` on `P:jobs`.
///
/// The braces of a `{tag}` prefix keep all three streams in one hash slot,
/// which Redis Cluster needs for the commit script that touches them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The jobs stream, which the consumer group reads.
    pub jobs: String,
    /// One entry per job that succeeded.
    pub results: String,
    /// One entry per job that failed for good, with its error.
    pub dead: String,
    /// The consumer group of the workers.
    pub group: String,
}

impl Keys {
    /// The keys under `prefix`.
    ///
    /// # Examples
    ///
    /// ```
    /// let keys = wpool_redis::Keys::new("{wpool}");
    /// assert_eq!(keys.jobs, "{wpool}:jobs");
    /// assert_eq!(keys.group, "{wpool}:workers");
    /// ```
    pub fn new(prefix: &str) -> Keys {
        Keys {
            jobs: format!("{prefix}:jobs"),
            results: format!("{prefix}:results"),
            dead: format!("{prefix}:dead"),
            group: format!("{prefix}:workers"),
        }
    }
}
