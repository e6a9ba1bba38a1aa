//! One login (an Instagram account of a Matrix user), as the rest of the bridge uses it: the
//! HTTP client, the realtime connection when it is up, the connection state, and the send
//! facade (realtime first, HTTP as the fallback). Starting, restoring and losing an account
//! is [`super::account`]'s.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::continuity::Continuity;
use crate::instagram::http::InstagramClient;
use crate::instagram::http::direct::{ReplyTo as HttpReplyTo, SendTarget};
use crate::instagram::ids::{ClientContext, ItemId, ThreadId, UserPk};
use crate::instagram::realtime::{self, RealtimeClient, TextOptions};

/// The state of an account's realtime connection, as `ping` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Connection {
    #[default]
    Connecting,
    Connected,
    Disconnected,
    NotAuthorized,
    Refused(u8),
    Stopped,
}

impl std::fmt::Display for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connecting => f.write_str("connecting"),
            Self::Connected => f.write_str("connected"),
            Self::Disconnected => f.write_str("disconnected"),
            Self::NotAuthorized => f.write_str("not authorized"),
            Self::Refused(code) => write!(f, "refused (code {code})"),
            Self::Stopped => f.write_str("stopped"),
        }
    }
}

/// What `ping` reports.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub realtime: Connection,
    pub last_event_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// A connected Instagram account: one login of a Matrix user (a user may have several).
pub struct IgUser {
    /// The Matrix user the login belongs to.
    pub mxid: String,
    /// The Instagram pk: the login's id.
    pub pk: i64,
    /// When this login started running (orders a user's logins).
    pub started_at_ms: i64,
    pub username: String,
    pub client: InstagramClient,
    realtime: Mutex<Option<RealtimeClient>>,
    pub status: Mutex<Status>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// When the last resync started and the delay before the next one may start: a cursor
    /// refused again right after a resync must not become a tight loop against Instagram.
    resync: Mutex<(Option<std::time::Instant>, Duration)>,
    /// Which threads must be caught up before their next live item (after a gap).
    pub continuity: Continuity,
    /// Where this login's state changes are reported (see `bridge_state`).
    pub bridge_state: super::bridge_state::LoginHandle,
    /// The threads this account is shown typing in on Instagram (from Matrix `m.typing`), so
    /// that only changes are sent.
    typing: Mutex<HashSet<String>>,
    /// The message requests already announced to the user while this login runs.
    announced_requests: Mutex<HashSet<String>>,
}

/// Why a send to Instagram failed.
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    pub invalid_emoji: bool,
    /// Trying again later may work (network, 5xx, rate limit).
    pub transient: bool,
    /// Instagram rate-limited the account: not before this long.
    pub rate_limited_for: Option<Duration>,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<crate::instagram::Error> for SendError {
    fn from(e: crate::instagram::Error) -> Self {
        SendError {
            message: e.user_message(),
            invalid_emoji: false,
            transient: e.is_transient(),
            rate_limited_for: match e {
                crate::instagram::Error::RateLimited { .. } => e.retry_after(),
                _ => None,
            },
        }
    }
}

impl From<realtime::Error> for SendError {
    fn from(e: realtime::Error) -> Self {
        let invalid_emoji = matches!(e, realtime::Error::InvalidEmoji);
        // A refusal is final; anything else (a timeout, a dropped connection) may pass later.
        let transient = !matches!(
            e,
            realtime::Error::InvalidEmoji | realtime::Error::Rejected { .. }
        );
        SendError {
            message: e.to_string(),
            invalid_emoji,
            transient,
            rate_limited_for: None,
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl IgUser {
    /// A started account, not connected yet.
    pub(super) fn new(
        mxid: &str,
        pk: i64,
        username: String,
        client: InstagramClient,
        bridge_state: super::bridge_state::LoginHandle,
    ) -> Self {
        Self {
            mxid: mxid.to_string(),
            pk,
            started_at_ms: crate::store::now_ms(),
            username,
            client,
            realtime: Mutex::new(None),
            status: Mutex::new(Status::default()),
            tasks: Mutex::new(Vec::new()),
            resync: Mutex::new((None, Duration::ZERO)),
            continuity: Continuity::default(),
            bridge_state,
            typing: Mutex::default(),
            announced_requests: Mutex::default(),
        }
    }

    /// The login's id as a portal's or an inbox row's receiver.
    pub fn receiver(&self) -> String {
        self.pk.to_string()
    }

    /// Records whether the user is typing in a thread; true when that is a change (to send).
    pub fn typing_changed(&self, thread_id: &str, typing: bool) -> bool {
        let mut threads = lock(&self.typing);
        if typing {
            threads.insert(thread_id.to_owned())
        } else {
            threads.remove(thread_id)
        }
    }

    /// Marks a message request as announced; true the first time (announce it then).
    pub fn announce_request_once(&self, thread_id: &str) -> bool {
        lock(&self.announced_requests).insert(thread_id.to_owned())
    }

    /// Whether a message request was announced while this login runs.
    pub fn request_announced(&self, thread_id: &str) -> bool {
        lock(&self.announced_requests).contains(thread_id)
    }

    /// Holds the running realtime connection and the account's background tasks.
    pub(super) fn run(&self, rt: RealtimeClient, tasks: impl IntoIterator<Item = JoinHandle<()>>) {
        *lock(&self.realtime) = Some(rt);
        lock(&self.tasks).extend(tasks);
    }

    pub(super) fn realtime(&self) -> Option<RealtimeClient> {
        lock(&self.realtime).clone()
    }

    pub fn status(&self) -> Status {
        lock(&self.status).clone()
    }

    pub(super) fn set_status(&self, f: impl FnOnce(&mut Status)) {
        f(&mut lock(&self.status));
    }

    /// Sends text; over the realtime connection when it is up, else over HTTP. Returns the
    /// new item's id when Instagram said it.
    pub async fn send_text(
        &self,
        thread_id: &str,
        text: &str,
        client_context: &str,
        reply_to: Option<(String, Option<String>)>,
        mentions: &[i64],
    ) -> Result<Option<String>, SendError> {
        if let Some(rt) = self.realtime_if_connected() {
            let opts = TextOptions {
                client_context: Some(client_context.to_string()),
                reply_to: reply_to.clone().map(|(item_id, client_context)| {
                    realtime::commands::ReplyTo {
                        item_id,
                        client_context,
                    }
                }),
                mentioned_user_ids: mentions.to_vec(),
            };
            match rt.send_text(thread_id, text, opts).await {
                Ok(ack) => return Ok(ack.item_id),
                Err(e @ (realtime::Error::Rejected { .. } | realtime::Error::InvalidEmoji)) => {
                    return Err(e.into());
                }
                Err(e) => tracing::warn!("realtime send failed, trying HTTP: {e}"),
            }
        }
        let reply = reply_to.map(|(item_id, client_context)| HttpReplyTo {
            item_id: ItemId::new(item_id),
            client_context,
        });
        let mentions: Vec<UserPk> = mentions.iter().map(|p| UserPk(*p)).collect();
        let ack = self
            .client
            .send_text(
                &SendTarget::Thread(ThreadId::new(thread_id)),
                text,
                &ClientContext::new(client_context),
                reply.as_ref(),
                &mentions,
            )
            .await?;
        Ok(ack
            .item()
            .and_then(|i| i.item_id.as_ref())
            .map(|i| i.to_string()))
    }

    /// Adds (`Some`) or removes (`None`) our reaction on an item.
    pub async fn send_reaction(
        &self,
        thread_id: &str,
        item_id: &str,
        emoji: Option<&str>,
    ) -> Result<(), SendError> {
        if let Some(rt) = self.realtime_if_connected() {
            match rt.send_reaction(thread_id, item_id, emoji, "text").await {
                Ok(_) => return Ok(()),
                Err(e @ (realtime::Error::Rejected { .. } | realtime::Error::InvalidEmoji)) => {
                    return Err(e.into());
                }
                Err(e) => tracing::warn!("realtime reaction failed, trying HTTP: {e}"),
            }
        }
        self.client
            .send_reaction(
                &ThreadId::new(thread_id),
                &ItemId::new(item_id),
                emoji,
                &ClientContext::generate(),
            )
            .await?;
        Ok(())
    }

    pub async fn mark_seen(&self, thread_id: &str, item_id: &str) -> Result<(), SendError> {
        if let Some(rt) = self.realtime_if_connected()
            && rt.mark_seen(thread_id, item_id).await.is_ok()
        {
            return Ok(());
        }
        self.client
            .mark_seen(
                &ThreadId::new(thread_id),
                &ItemId::new(item_id),
                &ClientContext::generate(),
            )
            .await?;
        Ok(())
    }

    pub async fn set_typing(&self, thread_id: &str, typing: bool) -> Result<(), SendError> {
        if let Some(rt) = self.realtime_if_connected()
            && rt.indicate_activity(thread_id, typing).await.is_ok()
        {
            return Ok(());
        }
        self.client
            .set_typing(
                &ThreadId::new(thread_id),
                typing,
                &ClientContext::generate(),
            )
            .await?;
        Ok(())
    }

    /// How long to wait before the next resync: none normally, growing (5 s doubling to 5 min)
    /// while Instagram keeps refusing fresh cursors.
    pub(super) fn next_resync_delay(&self) -> Duration {
        let mut state = lock(&self.resync);
        let now = std::time::Instant::now();
        let delay = resync_delay(state.0, state.1, now);
        *state = (Some(now + delay), delay);
        delay
    }

    fn realtime_if_connected(&self) -> Option<RealtimeClient> {
        let connected = lock(&self.status).realtime == Connection::Connected;
        if connected { self.realtime() } else { None }
    }

    /// Shows the account active on Instagram or not (the realtime foreground state, kept
    /// across reconnects). Whether a realtime connection took it.
    pub async fn set_active(&self, active: bool) -> bool {
        match self.realtime() {
            Some(rt) => rt.set_foreground(active).await.is_ok(),
            None => false,
        }
    }

    /// Asks the realtime connection to reconnect.
    pub async fn reconnect(&self) -> Result<(), String> {
        match self.realtime() {
            Some(rt) => rt.reconnect().await.map_err(|e| e.to_string()),
            None => Err("the realtime connection is not running".into()),
        }
    }

    /// Stops the realtime connection and the background tasks.
    pub async fn stop(&self) {
        let rt = lock(&self.realtime).take();
        if let Some(rt) = rt {
            let _ = rt.shutdown().await;
        }
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        self.set_status(|s| s.realtime = Connection::Stopped);
        self.bridge_state.stopped();
    }
}

/// The wait before a resync, given when the previous one started and how long it waited.
fn resync_delay(
    last_start: Option<std::time::Instant>,
    last_delay: Duration,
    now: std::time::Instant,
) -> Duration {
    match last_start {
        Some(last) if now < last + Duration::from_secs(60) => {
            (last_delay * 2).clamp(Duration::from_secs(5), Duration::from_secs(300))
        }
        _ => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn repeated_resyncs_back_off() {
        let now = Instant::now();
        assert_eq!(resync_delay(None, Duration::ZERO, now), Duration::ZERO);
        let d1 = resync_delay(Some(now), Duration::ZERO, now + Duration::from_secs(1));
        assert_eq!(d1, Duration::from_secs(5));
        let d2 = resync_delay(Some(now), d1, now + Duration::from_secs(2));
        assert_eq!(d2, Duration::from_secs(10));
        let capped = resync_delay(Some(now), Duration::from_secs(250), now);
        assert_eq!(capped, Duration::from_secs(300));
        // A resync long after the last one starts afresh.
        let later = now + Duration::from_secs(61);
        assert_eq!(resync_delay(Some(now), d2, later), Duration::ZERO);
    }

    #[test]
    fn connection_states_read_as_before() {
        assert_eq!(Connection::Connected.to_string(), "connected");
        assert_eq!(Connection::Refused(5).to_string(), "refused (code 5)");
        assert_eq!(Connection::NotAuthorized.to_string(), "not authorized");
    }
}
