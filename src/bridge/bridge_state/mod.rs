//! The bridge's state, mautrix style: the bridge as a whole (STARTING, UNCONFIGURED, RUNNING)
//! and each Instagram login (CONNECTING, BACKFILLING, CONNECTED, TRANSIENT_DISCONNECT,
//! BAD_CREDENTIALS, UNKNOWN_ERROR, LOGGED_OUT), told three ways:
//! - POSTed as `com.beeper.bridge_state` JSON to `homeserver.status_endpoint` ([`sender`]);
//! - as notices in the user's management room per `bridge.bridge_status_notices`
//!   ([`notices`]), a disconnection only once it lasted `bridge_status_notice_delay_secs`;
//! - to whoever asks ([`BridgeStates::current`], for `ping`).
//!
//! The rest of the bridge reports what happens through cheap, never-waiting calls: a
//! [`LoginHandle`] per started login (`user.rs`), and [`BridgeStates`] for the rest. One task
//! ([`run`]) feeds them to the [`machine`] and carries out what it says. Message checkpoints
//! ([`checkpoints`]) are POSTed from the delivery report queue.

pub mod checkpoints;
pub mod machine;
pub mod model;
pub mod notices;
pub mod sender;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

use self::checkpoints::{Batch, Checkpoint};
use self::machine::{Action, Change, Key, Machine};
use self::model::BridgeState;
use self::sender::Target;
use super::Bridge;
use crate::config::Config;
use crate::instagram::realtime::{ConnectionState, DisconnectCause};
use crate::metrics::Metrics;

/// Reports waiting for the task at most; beyond, new ones are dropped (and logged).
const QUEUE: usize = 4096;

/// What the task hears.
#[derive(Debug)]
enum Input {
    Claim {
        login: String,
        generation: u64,
    },
    HomeserverReady,
    Restored,
    Login {
        login: String,
        generation: u64,
        change: Change,
    },
    BackfillDone(String),
    NoticeDue {
        login: String,
        epoch: u64,
    },
}

/// What the handles share.
struct Shared {
    tx: mpsc::Sender<Input>,
    generation: AtomicU64,
    stopping: AtomicBool,
    metrics: Metrics,
}

impl Shared {
    fn push(&self, input: Input) {
        if let Err(e) = self.tx.try_send(input) {
            tracing::warn!("bridge state report dropped: {e}");
        }
    }
}

/// The bridge's end: global events, the handles, the current states, the endpoints.
pub struct BridgeStates {
    shared: Arc<Shared>,
    rx: Mutex<Option<mpsc::Receiver<Input>>>,
    current: Arc<Mutex<HashMap<String, BridgeState>>>,
    status: Option<Target>,
    checkpoints: Option<Target>,
}

fn http_client() -> reqwest::Client {
    crate::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

impl BridgeStates {
    pub fn new(config: &Config, metrics: Metrics) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let needs_http = config.homeserver.status_endpoint.is_some()
            || config.homeserver.message_send_checkpoint_endpoint.is_some();
        let http = needs_http.then(http_client);
        let target = |url: &Option<url::Url>| {
            Some(Target {
                url: url.clone()?,
                token: config.appservice.as_token.clone(),
                http: http.clone()?,
            })
        };
        Self {
            shared: Arc::new(Shared {
                tx,
                generation: AtomicU64::new(0),
                stopping: AtomicBool::new(false),
                metrics,
            }),
            rx: Mutex::new(Some(rx)),
            current: Arc::default(),
            status: target(&config.homeserver.status_endpoint),
            checkpoints: target(&config.homeserver.message_send_checkpoint_endpoint),
        }
    }

    /// A handle for a login (by its id) about to start, newer than any before it: reports
    /// of an older handle of the same login are ignored from now on.
    pub fn login(&self, login: &str) -> LoginHandle {
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.push(Input::Claim {
            login: login.to_string(),
            generation,
        });
        LoginHandle {
            shared: self.shared.clone(),
            login: login.to_string(),
            generation,
        }
    }

    /// The homeserver and the bridge reach each other.
    pub fn homeserver_ready(&self) {
        self.shared.push(Input::HomeserverReady);
    }

    /// The stored logins were started.
    pub fn logins_restored(&self) {
        self.shared.push(Input::Restored);
    }

    /// The first sync of login `login` is over.
    pub fn backfill_done(&self, login: &str) {
        self.shared.push(Input::BackfillDone(login.to_string()));
    }

    /// The bridge stops: logins stopping now are not logged out.
    pub fn shutting_down(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
    }

    /// The current state of a login (by its id), if it has one.
    pub fn current(&self, login: &str) -> Option<BridgeState> {
        lock(&self.current).get(login).cloned()
    }

    /// Whether checkpoints are wanted (`homeserver.message_send_checkpoint_endpoint`).
    pub fn wants_checkpoints(&self) -> bool {
        self.checkpoints.is_some()
    }

    /// POSTs checkpoints (best effort: a failure is logged).
    pub async fn post_checkpoints(&self, checkpoints: &[Checkpoint]) {
        let Some(target) = &self.checkpoints else {
            return;
        };
        if let Err(e) = target.post(&Batch { checkpoints }).await {
            tracing::warn!(
                n = checkpoints.len(),
                "cannot send message checkpoints to \
                 homeserver.message_send_checkpoint_endpoint: {e}"
            );
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One started login's end. Cheap to clone; never waits.
#[derive(Clone)]
pub struct LoginHandle {
    shared: Arc<Shared>,
    login: String,
    generation: u64,
}

impl LoginHandle {
    fn change(&self, change: Change) {
        self.shared.push(Input::Login {
            login: self.login.clone(),
            generation: self.generation,
            change,
        });
    }

    /// The login of Matrix user `mxid` starts connecting as Instagram account `pk`
    /// (`username`).
    pub fn connecting(self, mxid: &str, pk: i64, username: &str) -> Self {
        self.change(Change::Connecting {
            mxid: mxid.to_string(),
            pk,
            username: username.to_string(),
        });
        self
    }

    /// The realtime connection changed (counts the reconnects and their causes).
    pub fn realtime(&self, state: &ConnectionState) {
        let reconnects = &self.shared.metrics.realtime_reconnects;
        match state {
            ConnectionState::Connected => {
                // Whether the first sync still runs is known to the task.
                self.change(Change::Connected { backfilling: false });
            }
            ConnectionState::Disconnected { cause, reason } => {
                reconnects.with_label_values(&[cause.as_str()]).inc();
                let problem = match cause {
                    DisconnectCause::Proxy => model::proxy_failed(reason),
                    _ => model::disconnected(*cause),
                };
                self.change(Change::Problem(problem));
            }
            ConnectionState::AuthFailed => {
                // The state follows the probe of the HTTP session (`auth_probe`).
                reconnects.with_label_values(&["auth_failed"]).inc();
            }
            ConnectionState::Refused { code } => {
                reconnects.with_label_values(&["refused"]).inc();
                self.change(Change::Problem(model::refused(*code)));
            }
            ConnectionState::Connecting { .. } | ConnectionState::Stopped => {}
        }
    }

    /// What probing the HTTP session after an authorization refusal gave (`None`: it works).
    pub fn auth_probe(&self, error: Option<&crate::instagram::Error>) {
        self.change(Change::Problem(model::auth_probe(error)));
    }

    /// Starting the login failed (`reason`: a sentence for the user, without secrets).
    pub fn failed(&self, reason: &str) {
        self.change(Change::Problem(model::start_failed(reason)));
    }

    /// The login was stopped: logged out, unless its session was lost or the bridge stops.
    pub fn stopped(&self) {
        if !self.shared.stopping.load(Ordering::SeqCst) {
            self.change(Change::Stopped);
        }
    }
}

/// Runs the state task until the bridge is dropped.
pub async fn run(bridge: Arc<Bridge>) {
    let Some(mut rx) = lock(&bridge.bridge_states.rx).take() else {
        return;
    };
    let bridge_config = &bridge.config.bridge;
    let delay = Duration::from_secs(bridge_config.bridge_status_notice_delay_secs);
    let mut machine = Machine::new(bridge_config.bridge_status_notices, delay);
    let states = &bridge.bridge_states;
    let poster = states
        .status
        .clone()
        .map(|target| sender::spawn(target, bridge.metrics.clone(), sender::Backoff::default()));
    let current = states.current.clone();
    let tx = states.shared.tx.clone();
    let weak = Arc::downgrade(&bridge);
    let actions = machine.start();
    carry_out(&weak, actions, &poster, &current, &tx);
    drop(bridge);
    while let Some(input) = rx.recv().await {
        let Some(bridge) = weak.upgrade() else {
            return;
        };
        let actions = match input {
            Input::Claim { login, generation } => {
                machine.claim(&login, generation);
                Vec::new()
            }
            Input::HomeserverReady => machine.homeserver_ready(),
            Input::Restored => machine.restored(),
            Input::Login {
                login,
                generation,
                change,
            } => {
                let change = match change {
                    Change::Connected { .. } => Change::Connected {
                        backfilling: bridge.first_syncs.tracks(&login),
                    },
                    other => other,
                };
                machine.login(&login, generation, change)
            }
            Input::BackfillDone(login) => machine.backfill_done(&login),
            Input::NoticeDue { login, epoch } => machine.notice_due(&login, epoch),
        };
        drop(bridge);
        carry_out(&weak, actions, &poster, &current, &tx);
    }
}

type Poster = Option<mpsc::UnboundedSender<(Key, BridgeState)>>;

fn carry_out(
    bridge: &Weak<Bridge>,
    actions: Vec<Action>,
    poster: &Poster,
    current: &Mutex<HashMap<String, BridgeState>>,
    tx: &mpsc::Sender<Input>,
) {
    for action in actions {
        match action {
            Action::Post(key, state) => {
                let login = match &key {
                    Key::Login(login) => login.as_str(),
                    Key::Global => "",
                };
                tracing::info!(
                    login,
                    state = state.state_event.as_str(),
                    error = state.error.unwrap_or_default(),
                    "bridge state"
                );
                if let Key::Login(login) = &key {
                    lock(current).insert(login.clone(), state.clone());
                }
                if let Some(poster) = poster {
                    let _ = poster.send((key, state));
                }
            }
            Action::Notice {
                mxid,
                state,
                delayed,
            } => {
                let Some(bridge) = bridge.upgrade() else {
                    return;
                };
                let delay =
                    Duration::from_secs(bridge.config.bridge.bridge_status_notice_delay_secs);
                tokio::spawn(async move {
                    notices::send(&bridge, &mxid, &state, delayed.then_some(delay)).await;
                });
            }
            Action::NoticeLater {
                login,
                epoch,
                after,
            } => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = tx.try_send(Input::NoticeDue { login, epoch });
                });
            }
        }
    }
}
