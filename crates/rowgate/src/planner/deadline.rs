//! A request's deadline, as the writes it makes see it.
//!
//! A request still running at its deadline is cancelled, which rolls back an open
//! transaction. A commit is never cancelled halfway: each write checks the deadline just
//! before it commits (past it, the write is rolled back and answers TIMEOUT), and a commit
//! that has started runs to its end together with the publication of its changes. A
//! request that has committed a write is therefore not cancelled at the deadline; it is
//! left to finish, its later writes refusing themselves, so that its answer reports what
//! was committed.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

use crate::error::{AppError, AppResult};

/// When a request must be done, and whether it has begun to commit anything.
#[derive(Debug)]
pub struct Deadline {
    at: Instant,
    committed: AtomicBool,
}

impl Deadline {
    /// A deadline `within` from now.
    pub fn after(within: std::time::Duration) -> Self {
        Self {
            at: Instant::now() + within,
            committed: AtomicBool::new(false),
        }
    }

    /// The instant the request must be done by.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Whether a write of this request has started to commit.
    pub fn has_committed(&self) -> bool {
        self.committed.load(Ordering::Acquire)
    }

    /// Called just before a commit: TIMEOUT once the deadline has passed, else the commit
    /// may start (and the request is no longer cancelled at the deadline).
    pub(crate) fn admit_commit(&self) -> AppResult<()> {
        if Instant::now() >= self.at {
            return Err(AppError::Timeout(
                "the request reached its deadline before this write committed; nothing of it was written".into(),
            ));
        }
        self.committed.store(true, Ordering::Release);
        Ok(())
    }
}
