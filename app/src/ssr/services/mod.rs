//! The business rules. Server functions and the REST API call these and nothing deeper.

pub mod account;
mod actor;
pub mod audit;
pub mod auth;
pub mod decoys;
pub mod insight;
pub mod keys;
pub mod leaks;
pub mod members;
pub mod organizations;
pub mod projects;
pub mod reminders;
pub mod verification;
pub mod webhooks;

pub use actor::{Actor, KeyCaller, Reach};
pub use auth::{Client, Member, NewSession};

use super::ServiceError;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Password hashing and checking (argon2id: 19 MiB of memory and tens of milliseconds of a core each)
/// waits its turn in one process-wide queue, as many at once as there are cores, so memory stays
/// bounded however many sign-ins arrive. A turn not had within the wait is refused with 503 and
/// `Retry-After`, before any work is done.
pub struct PasswordWork {
    turns: Arc<Semaphore>,
    wait: Duration,
}

impl PasswordWork {
    pub const WAIT: Duration = Duration::from_secs(5);

    pub fn new(at_once: usize, wait: Duration) -> Self {
        Self { turns: Arc::new(Semaphore::new(at_once.max(1))), wait }
    }

    /// The process's queue: one turn per core.
    pub fn process() -> &'static Self {
        static QUEUE: OnceLock<PasswordWork> = OnceLock::new();
        QUEUE.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
            Self::new(cores, Self::WAIT)
        })
    }

    /// Runs `work` off the async workers once it has a turn. The turn is held by the work itself, so
    /// a caller that goes away does not free it while the hash is still being computed.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ServiceError> {
        let busy = || ServiceError::Overloaded { retry_after_secs: self.wait.as_secs().max(1) };
        let turn = tokio::time::timeout(self.wait, Arc::clone(&self.turns).acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        tokio::task::spawn_blocking(move || {
            let done = work();
            drop(turn);
            done
        })
        .await
        .map_err(|e| ServiceError::Internal(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_work_runs_a_bounded_number_at_once_and_refuses_a_long_wait() {
        let queue = Arc::new(PasswordWork::new(2, Duration::from_millis(100)));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let attempts = (0..12).map(|_| {
            let (queue, running, most) = (Arc::clone(&queue), Arc::clone(&running), Arc::clone(&most));
            tokio::spawn(async move {
                queue
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(60));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            })
        });
        let results: Vec<_> = futures_join(attempts).await;
        assert!(most.load(Ordering::SeqCst) <= 2, "at most two at once, saw {}", most.load(Ordering::SeqCst));
        let refused = results.iter().filter(|r| matches!(r, Err(ServiceError::Overloaded { .. }))).count();
        assert!(refused > 0, "twelve 60 ms jobs, two at a time, cannot all start within 100 ms");
        assert!(results.iter().any(Result::is_ok));
    }

    async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::new();
        for handle in handles.collect::<Vec<_>>() {
            out.push(handle.await.expect("task"));
        }
        out
    }
}
