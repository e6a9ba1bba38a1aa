//! Whether applying a row ended in a failure that was handled (told to the user) rather than
//! returned: a send Instagram refused returns `Ok` after its notice, yet was not bridged. The
//! code that tells the failure marks it here ([`mark_failed`]); the conversation worker reads
//! it around each apply ([`track`]). Scoped to the worker's task; a no-op elsewhere.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static FAILURE: RefCell<Option<String>>;
}

/// Marks the row being applied as failed, with why.
pub fn mark_failed(reason: &str) {
    let _ = FAILURE.try_with(|f| *f.borrow_mut() = Some(reason.to_string()));
}

/// Runs `apply`, returning its output and the failure marked meanwhile, if any.
pub async fn track<F: Future>(apply: F) -> (F::Output, Option<String>) {
    FAILURE
        .scope(RefCell::new(None), async move {
            let out = apply.await;
            let failure = FAILURE.with(|f| f.borrow_mut().take());
            (out, failure)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_is_seen_only_by_its_own_apply() {
        mark_failed("outside any apply: ignored");
        let (out, failure) = track(async {
            mark_failed("refused");
            7
        })
        .await;
        assert_eq!((out, failure.as_deref()), (7, Some("refused")));
        let ((), failure) = track(async {}).await;
        assert_eq!(failure, None);
    }
}
