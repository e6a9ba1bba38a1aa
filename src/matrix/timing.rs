//! Timing of homeserver requests: the client tells a hook how long each request took, under
//! its endpoint's short name (`room::create_room`), and whether it succeeded.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Called after each homeserver request with (endpoint, duration, succeeded); must not block.
pub type RequestHook = Arc<dyn Fn(&'static str, Duration, bool) + Send + Sync>;

/// The client's hook, set once.
#[derive(Default)]
pub(crate) struct Timing(OnceLock<RequestHook>);

impl Timing {
    pub(crate) fn set(&self, hook: RequestHook) {
        let _ = self.0.set(hook);
    }

    /// Reports a request that started at `started`.
    pub(crate) fn observe(&self, endpoint: &'static str, started: Instant, ok: bool) {
        if let Some(hook) = self.0.get() {
            hook(endpoint, started.elapsed(), ok);
        }
    }
}
