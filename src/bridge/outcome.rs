//! How applying a row ended when it returned `Ok` without bridging anything: a send that
//! Instagram refused (told to the user, not retried), or something deliberately not bridged
//! (the echo of the bridge's own send). The code that decides marks it here ([`mark_failed`],
//! [`mark_skipped`]); the conversation worker reads the mark around each apply ([`track`])
//! for its metrics and checkpoints. Scoped to the worker's task; a no-op elsewhere.

use std::cell::RefCell;
use std::future::Future;

/// What an apply that returned `Ok` marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Not delivered, and told so (the reason).
    Failed(String),
    /// Deliberately not bridged (the reason).
    Skipped(String),
}

tokio::task_local! {
    static MARK: RefCell<Option<Mark>>;
}

fn mark(m: Mark) {
    let _ = MARK.try_with(|cell| *cell.borrow_mut() = Some(m));
}

/// Marks the row being applied as failed, with why.
pub fn mark_failed(reason: &str) {
    mark(Mark::Failed(reason.to_string()));
}

/// Marks the row being applied as deliberately not bridged, with why.
pub fn mark_skipped(reason: &str) {
    mark(Mark::Skipped(reason.to_string()));
}

/// Runs `apply`, returning its output and what was marked meanwhile, if anything.
pub async fn track<F: Future>(apply: F) -> (F::Output, Option<Mark>) {
    MARK.scope(RefCell::new(None), async move {
        let out = apply.await;
        let marked = MARK.with(|cell| cell.borrow_mut().take());
        (out, marked)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_mark_is_seen_only_by_its_own_apply() {
        mark_failed("outside any apply: ignored");
        let (out, marked) = track(async {
            mark_failed("refused");
            7
        })
        .await;
        assert_eq!((out, marked), (7, Some(Mark::Failed("refused".into()))));
        let ((), marked) = track(async { mark_skipped("echo") }).await;
        assert_eq!(marked, Some(Mark::Skipped("echo".into())));
        let ((), marked) = track(async {}).await;
        assert_eq!(marked, None);
    }
}
