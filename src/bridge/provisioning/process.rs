//! Login processes in progress, by a random id, each owned by one Matrix user and forgotten
//! after [`EXPIRE_AFTER`] without a step. A process is taken out while a step works on it, so
//! two concurrent submissions cannot both use it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::instagram::http::{ChallengeState, InstagramClient, TwoFactorState};

/// How long a login process waits for its next step.
pub const EXPIRE_AFTER: Duration = Duration::from_secs(600);

/// Where a login process stands.
pub enum Stage {
    /// Waiting for username and password.
    Password,
    /// Waiting for cookies.
    Cookies,
    TwoFactor {
        client: InstagramClient,
        state: TwoFactorState,
    },
    Challenge {
        client: InstagramClient,
        state: ChallengeState,
    },
}

pub struct Process {
    pub owner: String,
    pub stage: Stage,
    /// The step id handed out with the stage's step.
    pub step_id: &'static str,
    touched: Instant,
}

#[derive(Default)]
pub struct Processes {
    map: std::sync::Mutex<HashMap<String, Process>>,
}

impl Processes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Process>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, p| p.touched.elapsed() < EXPIRE_AFTER);
        map
    }

    /// Keeps a process at `stage` under `id` (a new id when `None`); returns the id.
    pub fn put(
        &self,
        id: Option<String>,
        owner: &str,
        stage: Stage,
        step_id: &'static str,
    ) -> String {
        let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        self.lock().insert(
            id.clone(),
            Process {
                owner: owner.to_string(),
                stage,
                step_id,
                touched: Instant::now(),
            },
        );
        id
    }

    /// Takes `owner`'s process `id` out to work on it.
    pub fn take(&self, id: &str, owner: &str) -> Option<Process> {
        let mut map = self.lock();
        if map.get(id)?.owner != owner {
            return None;
        }
        map.remove(id)
    }

    /// Forgets `owner`'s process `id`; whether there was one.
    pub fn cancel(&self, id: &str, owner: &str) -> bool {
        self.take(id, owner).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_its_owners_alone_and_taken_once() {
        let p = Processes::default();
        let id = p.put(None, "@a:x", Stage::Password, "s");
        assert!(p.take(&id, "@b:x").is_none(), "another user's process");
        let taken = p.take(&id, "@a:x").expect("the owner's");
        assert_eq!(taken.step_id, "s");
        assert!(p.take(&id, "@a:x").is_none(), "taken while a step works");
        let id2 = p.put(Some(id.clone()), "@a:x", Stage::Cookies, "c");
        assert_eq!(id2, id);
        assert!(p.cancel(&id, "@a:x"));
        assert!(!p.cancel(&id, "@a:x"));
    }

    #[test]
    fn an_idle_process_expires() {
        let p = Processes::default();
        let id = p.put(None, "@a:x", Stage::Password, "s");
        if let Some(proc_) = p.map.lock().unwrap().get_mut(&id) {
            proc_.touched = Instant::now() - EXPIRE_AFTER;
        }
        assert!(p.take(&id, "@a:x").is_none());
    }
}
