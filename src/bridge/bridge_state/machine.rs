//! The state machine: which state the bridge and each login are in, from what the rest of the
//! bridge reports, and what follows from a change: post it, tell the user now, or tell them
//! later if it is still so. Pure (no I/O, no clock but the states' stamps), so every rule is
//! tested here.

use std::collections::HashMap;
use std::time::Duration;

use super::model::{BridgeState, Problem, StateEvent};
use crate::config::StatusNotices;

/// What happened to a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The login starts (a fresh login or a restart) as Instagram account `pk` of Matrix
    /// user `mxid`: a new generation.
    Connecting {
        mxid: String,
        pk: i64,
        username: String,
    },
    /// The realtime connection is up; `backfilling` while the first sync runs.
    Connected { backfilling: bool },
    /// Something failed.
    Problem(Problem),
    /// The login was stopped (logged out, or the session was lost).
    Stopped,
}

/// Whose state a post is (a login by its id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Global,
    Login(String),
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send the state to `homeserver.status_endpoint`.
    Post(Key, BridgeState),
    /// Tell the user in the management room (`delayed`: a disconnection that lasted).
    Notice {
        mxid: String,
        state: BridgeState,
        delayed: bool,
    },
    /// Come back with `notice_due(login, epoch)` after `after`.
    NoticeLater {
        login: String,
        epoch: u64,
        after: Duration,
    },
}

#[derive(Debug)]
struct Login {
    generation: u64,
    mxid: String,
    pk: i64,
    username: String,
    state: Option<BridgeState>,
    stopped: bool,
    /// Counts the entries into TRANSIENT_DISCONNECT, so a late check knows whether it is still
    /// the same disconnection.
    epoch: u64,
    /// An error notice was sent and the recovery has not been told yet.
    error_told: bool,
}

#[derive(Debug)]
pub struct Machine {
    notices: StatusNotices,
    notice_delay: Duration,
    global: Option<StateEvent>,
    homeserver_ready: bool,
    restored: bool,
    logins: HashMap<String, Login>,
    /// The newest generation claimed per login: older ones' reports are ignored.
    newest: HashMap<String, u64>,
}

impl Machine {
    pub fn new(notices: StatusNotices, notice_delay: Duration) -> Self {
        Self {
            notices,
            notice_delay,
            global: None,
            homeserver_ready: false,
            restored: false,
            logins: HashMap::new(),
            newest: HashMap::new(),
        }
    }

    /// The bridge starts.
    pub fn start(&mut self) -> Vec<Action> {
        self.global = Some(StateEvent::Starting);
        vec![Action::Post(
            Key::Global,
            BridgeState::new(StateEvent::Starting),
        )]
    }

    /// The homeserver and the bridge reach each other.
    pub fn homeserver_ready(&mut self) -> Vec<Action> {
        self.homeserver_ready = true;
        self.global_update().into_iter().collect()
    }

    /// The stored logins have been started.
    pub fn restored(&mut self) -> Vec<Action> {
        self.restored = true;
        self.global_update().into_iter().collect()
    }

    /// The current state of a login.
    pub fn current(&self, mxid: &str) -> Option<&BridgeState> {
        self.logins.get(mxid).and_then(|l| l.state.as_ref())
    }

    /// Login `mxid` (its id) is about to start as `generation`: from now on, reports of older
    /// generations (the login it replaces stopping) change nothing.
    pub fn claim(&mut self, mxid: &str, generation: u64) {
        let newest = self.newest.entry(mxid.to_string()).or_insert(generation);
        *newest = (*newest).max(generation);
    }

    /// A change of generation `generation` of `mxid`'s login.
    pub fn login(&mut self, mxid: &str, generation: u64, change: Change) -> Vec<Action> {
        if self.newest.get(mxid).is_some_and(|&n| n > generation) {
            return Vec::new();
        }
        if let Change::Connecting {
            mxid: user,
            pk,
            username,
        } = change
        {
            if self
                .logins
                .get(mxid)
                .is_some_and(|l| l.generation > generation)
            {
                return Vec::new();
            }
            let login = Login {
                generation,
                mxid: user,
                pk,
                username,
                state: None,
                stopped: false,
                epoch: 0,
                error_told: false,
            };
            self.logins.insert(mxid.to_string(), login);
            let mut actions = self.publish(mxid, BridgeState::new(StateEvent::Connecting));
            actions.extend(self.global_update());
            return actions;
        }
        let current = self
            .logins
            .get(mxid)
            .filter(|l| l.generation == generation && !l.stopped);
        let Some(login) = current else {
            return Vec::new();
        };
        match change {
            Change::Connecting { .. } => Vec::new(),
            Change::Connected { backfilling } => {
                let event = if backfilling {
                    StateEvent::Backfilling
                } else {
                    StateEvent::Connected
                };
                self.publish(mxid, BridgeState::new(event))
            }
            Change::Problem(problem) => {
                let state = BridgeState::new(problem.state).with_problem(&problem);
                self.publish(mxid, state)
            }
            Change::Stopped => {
                // A session the bridge logged out stays BAD_CREDENTIALS; any other stop is a
                // logout.
                let lost = login
                    .state
                    .as_ref()
                    .and_then(|s| s.error)
                    .is_some_and(Problem::logged_out_by_bridge);
                let mut actions = if lost {
                    Vec::new()
                } else {
                    self.publish(mxid, BridgeState::new(StateEvent::LoggedOut))
                };
                if let Some(login) = self.logins.get_mut(mxid) {
                    login.stopped = true;
                }
                actions.extend(self.global_update());
                actions
            }
        }
    }

    /// The first sync of `mxid` is over.
    pub fn backfill_done(&mut self, mxid: &str) -> Vec<Action> {
        let backfilling = self.logins.get(mxid).is_some_and(|l| {
            !l.stopped
                && l.state
                    .as_ref()
                    .is_some_and(|s| s.state_event == StateEvent::Backfilling)
        });
        if backfilling {
            self.publish(mxid, BridgeState::new(StateEvent::Connected))
        } else {
            Vec::new()
        }
    }

    /// The delay of a disconnection notice is over: tell it if it is still the same one.
    pub fn notice_due(&mut self, mxid: &str, epoch: u64) -> Vec<Action> {
        let Some(login) = self.logins.get_mut(mxid) else {
            return Vec::new();
        };
        let unresolved = !login.stopped
            && login.epoch == epoch
            && !login.error_told
            && login
                .state
                .as_ref()
                .is_some_and(|s| s.state_event == StateEvent::TransientDisconnect);
        match (&login.state, unresolved) {
            (Some(state), true) => {
                login.error_told = true;
                vec![Action::Notice {
                    mxid: login.mxid.clone(),
                    state: state.clone(),
                    delayed: true,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Records a login's new state unless it says nothing new: the post, and the notice.
    fn publish(&mut self, mxid: &str, mut state: BridgeState) -> Vec<Action> {
        let (notices, delay) = (self.notices, self.notice_delay);
        let Some(login) = self.logins.get_mut(mxid) else {
            return Vec::new();
        };
        state.user_id = Some(login.mxid.clone());
        state.remote_id = Some(login.pk.to_string());
        if !login.username.is_empty() {
            state.remote_name = Some(login.username.clone());
            state.remote_profile = Some(serde_json::json!({ "username": login.username }));
        }
        if login.state.as_ref().is_some_and(|s| s.same_as(&state)) {
            return Vec::new();
        }
        let was_transient = login
            .state
            .as_ref()
            .is_some_and(|s| s.state_event == StateEvent::TransientDisconnect);
        if state.state_event == StateEvent::TransientDisconnect && !was_transient {
            login.epoch += 1;
        }
        login.state = Some(state.clone());
        let mut actions = vec![Action::Post(Key::Login(mxid.to_string()), state.clone())];
        actions.extend(notice(notices, delay, login, mxid, state));
        actions
    }

    /// RUNNING or UNCONFIGURED once started, as logins come and go.
    fn global_update(&mut self) -> Option<Action> {
        if !(self.homeserver_ready && self.restored) {
            return None;
        }
        let active = self.logins.values().any(|l| !l.stopped);
        let target = if active {
            StateEvent::Running
        } else {
            StateEvent::Unconfigured
        };
        if self.global == Some(target) {
            return None;
        }
        self.global = Some(target);
        Some(Action::Post(Key::Global, BridgeState::new(target)))
    }
}

/// Whether and when the user hears of a login's new state.
fn notice(
    policy: StatusNotices,
    delay: Duration,
    login: &mut Login,
    key: &str,
    state: BridgeState,
) -> Option<Action> {
    // The bridge logs such a session out and says so itself.
    if state.error.is_some_and(Problem::logged_out_by_bridge) {
        return None;
    }
    let user = login.mxid.clone();
    let now = |state| {
        Some(Action::Notice {
            mxid: user.clone(),
            state,
            delayed: false,
        })
    };
    match policy {
        StatusNotices::None => None,
        StatusNotices::All => now(state),
        StatusNotices::Errors => match state.state_event {
            StateEvent::TransientDisconnect if !login.error_told => Some(Action::NoticeLater {
                login: key.to_string(),
                epoch: login.epoch,
                after: delay,
            }),
            StateEvent::Connected if login.error_told => {
                login.error_told = false;
                now(state)
            }
            _ if state.is_error() => {
                login.error_told = true;
                now(state)
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests;
