//! A fake Instagram on loopback: the private API (`/api/v1/…`), rupload (`/rupload/…`) and a
//! CDN (`/cdn/…`) on one port. It is strict the way Instagram is (headers of PROTOCOL A.3, body
//! encodings of A.4, `enc_password` of B.2) and answers with the error shapes of F. Its state
//! (accounts, sessions, threads, media) is shared with the fake MQTT broker and end-to-end tests
//! through a cheap cloneable handle; it never calls into the client code.

mod api_direct;
mod api_login;
mod api_media;
mod api_threads;
mod shared;
#[allow(unused_imports)] // used by the double-puppet end-to-end tests only
pub use shared::ChatStateChange;
pub mod state;
mod tls;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub use state::{Account, Challenge, FakeEvent, Recorded, ThreadRec, TwoFactor};
use state::{Fault, SessionRec, State};
use wire::BodyKind;

/// Handle to a running fake Instagram.
#[derive(Clone)]
pub struct FakeInstagram {
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<FakeEvent>,
    base: String,
    /// `https://127.0.0.1:port`: the same fake behind TLS.
    tls_base: String,
    ca: Arc<tempfile::NamedTempFile>,
}

/// A parsed request.
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: BTreeMap<String, String>,
    pub body: BodyKind,
    pub raw: bytes::Bytes,
}

impl Req {
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The signed parameters, or a 400 when the body was not signed.
    pub fn signed(&self) -> Result<BTreeMap<String, String>, Resp> {
        match &self.body {
            BodyKind::Signed(_, m) => Ok(m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()),
            _ => Err(Resp::fail(400, "this endpoint expects a signed_body")),
        }
    }
    /// The raw form parameters, or a 400 when the body was signed or missing.
    pub fn form(&self) -> Result<BTreeMap<String, String>, Resp> {
        match &self.body {
            BodyKind::Form(f) => Ok(f.clone()),
            BodyKind::Signed(..) => Err(Resp::fail(
                400,
                "this endpoint expects a raw form, not signed_body",
            )),
            BodyKind::Empty => Err(Resp::fail(400, "missing form body")),
        }
    }
}

/// A response.
pub(crate) struct Resp {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn json(status: u16, v: Value) -> Resp {
        Resp {
            status,
            body: v.to_string().into_bytes(),
            content_type: "application/json",
            headers: vec![],
        }
    }
    /// `v` plus `"status": "ok"`.
    pub fn ok(mut v: Value) -> Resp {
        if let Value::Object(m) = &mut v {
            m.insert("status".into(), "ok".into());
        }
        Resp::json(200, v)
    }
    pub fn fail(status: u16, message: &str) -> Resp {
        Resp::json(status, json!({"message": message, "status": "fail"}))
    }
    pub fn fail_typed(status: u16, message: &str, error_type: &str) -> Resp {
        Resp::json(
            status,
            json!({"message": message, "error_type": error_type, "status": "fail"}),
        )
    }
    pub fn bytes(status: u16, body: Vec<u8>, content_type: &'static str) -> Resp {
        Resp {
            status,
            body,
            content_type,
            headers: vec![],
        }
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Resp {
        self.headers.push((k.to_owned(), v.into()));
        self
    }
}

/// Authenticates a request: the pk of a live session, or the `login_required` answer.
pub(crate) fn authed(st: &State, req: &Req) -> Result<i64, Resp> {
    let dead = |reason: i64| {
        Resp::json(
            403,
            json!({"message": "login_required", "logout_reason": reason, "status": "fail",
                   "error_title": "You've been logged out", "error_body": "Please log back in."}),
        )
    };
    let Some(sid) = wire::session_of(&req.headers) else {
        return Err(dead(0));
    };
    match st.sessions.iter().find(|s| s.sessionid == sid) {
        Some(s) if s.alive => Ok(s.pk),
        Some(s) => Err(dead(s.logout_reason)),
        None => Err(dead(0)),
    }
}

impl FakeInstagram {
    /// Starts the fake on `127.0.0.1:0`.
    pub async fn start() -> FakeInstagram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let (acceptor, ca) = crate::support::fake_broker::session::tls_acceptor();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let tls_base = format!("https://{}", tcp.local_addr().expect("addr"));
        let tls = tls::TlsListener { tcp, acceptor };
        let fake = FakeInstagram {
            tls_base,
            ca: Arc::new(ca),
            state: Arc::new(Mutex::new(State {
                seq_id: 1000,
                base: base.clone(),
                ..State::default()
            })),
            events: broadcast::channel(1024).0,
            base,
        };
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(fake.clone());
        let tls_app = app.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        tokio::spawn(async move {
            let _ = axum::serve(tls, tls_app).await;
        });
        fake
    }

    /// `https://127.0.0.1:port`: the same fake behind TLS (trust [`Self::ca_path`]).
    pub fn tls_base(&self) -> &str {
        &self.tls_base
    }

    /// The PEM CA that signed the TLS listener's certificate.
    pub fn ca_path(&self) -> &std::path::Path {
        self.ca.path()
    }

    pub(crate) fn st(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn emit(&self, e: FakeEvent) {
        let _ = self.events.send(e);
    }

    /// `http://127.0.0.1:port` (the client's api base is this + `/api/v1/`).
    pub fn base(&self) -> &str {
        &self.base
    }
    pub fn api_base(&self) -> String {
        format!("{}/api/v1/", self.base)
    }
    pub fn upload_base(&self) -> String {
        format!("{}/rupload/", self.base)
    }
    pub fn cdn_base(&self) -> String {
        format!("{}/cdn/", self.base)
    }

    /// Adds an account with a password.
    pub fn add_account(&self, username: &str, password: &str, pk: i64) -> &Self {
        self.st().accounts.push(Account {
            pk,
            username: username.into(),
            password: password.into(),
            full_name: format!("{username} full"),
            two_factor: None,
            challenge: None,
            login_error: None,
        });
        // Its profile picture, served by the fake CDN (a JPEG header is all a sniffer needs).
        let mut pic = vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
        ];
        pic.extend_from_slice(&pk.to_be_bytes());
        self.add_cdn_object(&format!("pic/{pk}.jpg"), pic);
        self
    }

    fn with_account(&self, username: &str, f: impl FnOnce(&mut Account)) {
        let mut st = self.st();
        let a = st
            .accounts
            .iter_mut()
            .find(|a| a.username == username)
            .expect("unknown account");
        f(a);
    }

    /// Turns on two-factor for an account.
    pub fn set_two_factor(&self, username: &str, tf: TwoFactor) {
        self.with_account(username, |a| a.two_factor = Some(tf));
    }

    /// Makes the next logins of an account hit a challenge.
    pub fn set_challenge(&self, username: &str, ch: Option<Challenge>) {
        self.with_account(username, |a| a.challenge = ch);
    }

    /// Forces a login `error_type` (e.g. `sentry_block`).
    pub fn set_login_error(&self, username: &str, error_type: Option<&str>) {
        self.with_account(username, |a| a.login_error = error_type.map(str::to_owned));
    }

    /// Issues a session directly (as if logged in elsewhere): `(sessionid, authorization)`.
    pub fn issue_session(&self, pk: i64) -> (String, String) {
        let mut st = self.st();
        api_login::new_session(&mut st, pk)
    }

    /// Kills every session of a user (`login_required` with this `logout_reason`).
    pub fn kill_sessions(&self, pk: i64, logout_reason: i64) {
        for s in self.st().sessions.iter_mut().filter(|s| s.pk == pk) {
            s.alive = false;
            s.logout_reason = logout_reason;
        }
    }

    /// The user pk of a realtime (MQTT) password: `sessionid=<id>` or
    /// `authorization=Bearer IGT:2:<b64 json>`.
    pub fn account_for_mqtt_password(&self, password: &str) -> Option<i64> {
        let sid = if let Some(s) = password.strip_prefix("sessionid=") {
            s.to_owned()
        } else {
            let auth = password.strip_prefix("authorization=")?;
            let mut h = BTreeMap::new();
            h.insert("authorization".to_owned(), auth.to_owned());
            wire::session_of(&h)?
        };
        self.st()
            .sessions
            .iter()
            .find(|s| s.sessionid == sid && s.alive)
            .map(|s| s.pk)
    }

    /// Creates a thread between these users (first = creator). Returns its id.
    pub fn add_thread(&self, users: &[i64], title: Option<&str>) -> String {
        let mut st = self.st();
        let (id, v2) = st.next_thread_id();
        st.threads.push(ThreadRec {
            thread_id: id.clone(),
            thread_v2_id: v2,
            users: users.to_vec(),
            admins: users.first().copied().into_iter().collect(),
            title: title.map(str::to_owned),
            is_group: users.len() > 2 || title.is_some(),
            ..ThreadRec::default()
        });
        id
    }

    /// Sets a group's photo to bytes served on the CDN (a new photo id each time).
    pub fn set_thread_image(&self, thread_id: &str, data: Vec<u8>, width: u32, height: u32) {
        let n = self.st().next_counter();
        let url = self.add_cdn_object(&format!("thread_image/{thread_id}/{n}.jpg"), data);
        self.st()
            .thread_mut(thread_id)
            .expect("thread")
            .thread_image = Some(json!({
            "id": format!("{n}_1"), "media_type": 1, "original_width": width, "original_height": height,
            "image_versions2": {"candidates": [{"width": width, "height": height, "url": url}]},
        }));
    }

    /// Marks a thread as a pending request for `pk`.
    pub fn set_pending(&self, thread_id: &str, pk: i64) {
        self.st()
            .thread_mut(thread_id)
            .expect("thread")
            .pending_for
            .insert(pk);
    }

    /// Adds a text item from `sender`; returns the item id.
    pub fn push_text(&self, thread_id: &str, sender: i64, text: &str) -> String {
        self.push_item(thread_id, sender, "text", json!({"text": text}))
    }

    /// Adds an item of any type: `fields` are merged into the item (e.g. `{"text": ..}` or
    /// `{"media": {...}}`); `item_id`, `user_id`, `timestamp`, `item_type` are filled in.
    pub fn push_item(
        &self,
        thread_id: &str,
        sender: i64,
        item_type: &str,
        fields: Value,
    ) -> String {
        let cc = (self.st().counter + 7_000_000_000_000_000_000).to_string();
        let item = self
            .send_item_as(sender, thread_id, item_type, fields, &cc)
            .expect("unknown thread");
        item["item_id"].as_str().unwrap_or_default().to_owned()
    }

    /// Subscribes to what happens (for the fake broker).
    pub fn subscribe_events(&self) -> broadcast::Receiver<FakeEvent> {
        self.events.subscribe()
    }

    /// A copy of a thread's stored items (oldest first, wire JSON).
    pub fn items(&self, thread_id: &str) -> Vec<Value> {
        self.st()
            .thread(thread_id)
            .map(|t| t.items.clone())
            .unwrap_or_default()
    }

    /// A copy of a thread's record.
    pub fn thread(&self, thread_id: &str) -> Option<ThreadRec> {
        self.st().thread(thread_id).cloned()
    }

    /// All thread ids.
    pub fn thread_ids(&self) -> Vec<String> {
        self.st()
            .threads
            .iter()
            .map(|t| t.thread_id.clone())
            .collect()
    }

    /// Current iris sequence id.
    pub fn seq_id(&self) -> i64 {
        self.st().seq_id
    }

    /// Sets a user's presence.
    pub fn set_presence(&self, pk: i64, active: bool, last_activity_ms: i64) {
        self.st().presence.insert(pk, (active, last_activity_ms));
    }

    /// Whether `by` has blocked `pk`.
    pub fn is_blocked(&self, by: i64, pk: i64) -> bool {
        self.st().blocks.contains(&(by, pk))
    }

    /// Serves bytes on the CDN at `{cdn_base}{path}`; returns the URL.
    pub fn add_cdn_object(&self, path: &str, data: Vec<u8>) -> String {
        self.st().cdn.insert(path.to_owned(), (data, false));
        format!("{}{path}", self.cdn_base())
    }

    /// Makes a CDN object answer 403 (expired signed URL).
    pub fn expire_cdn_object(&self, path: &str) {
        if let Some(o) = self.st().cdn.get_mut(path) {
            o.1 = true;
        }
    }

    /// Uploaded media by id: (mime, bytes).
    pub fn uploaded(&self, media_id: &str) -> Option<(String, Vec<u8>)> {
        self.st().media.get(media_id).cloned()
    }

    /// Answers the next `times` requests whose path contains `path_contains` with this.
    pub fn inject(&self, path_contains: &str, status: u16, body: Value, times: u32) {
        self.st().faults.push(Fault {
            path_contains: path_contains.into(),
            status,
            body: body.to_string(),
            times,
        });
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.st().requests.clone()
    }

    /// Requests whose path ends with `suffix`.
    pub fn requests_to(&self, suffix: &str) -> Vec<Recorded> {
        self.st()
            .requests
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .cloned()
            .collect()
    }

    /// The last request whose path ends with `suffix`.
    pub fn last_request(&self, suffix: &str) -> Option<Recorded> {
        self.requests_to(suffix).pop()
    }

    pub fn clear_requests(&self) {
        self.st().requests.clear();
    }
}

async fn handle(AxState(fake): AxState<FakeInstagram>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let raw = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let mut headers = BTreeMap::new();
    for (k, v) in &parts.headers {
        headers.insert(
            k.as_str().to_ascii_lowercase(),
            v.to_str().unwrap_or_default().to_owned(),
        );
    }
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    let is_api = path.starts_with("/api/v1/");
    let decoded = if is_api {
        wire::decode_body(headers.get("content-type").map(String::as_str), &raw)
    } else {
        Ok(BodyKind::Empty)
    };
    let (body, early) = match decoded {
        Ok(b) => (b, None),
        Err(e) => (
            BodyKind::Empty,
            Some(Resp::fail(400, &format!("bad body: {e}"))),
        ),
    };
    let (form, signed) = match &body {
        BodyKind::Form(f) => (f.clone(), None),
        BodyKind::Signed(f, m) => (f.clone(), Some(m.clone())),
        BodyKind::Empty => (BTreeMap::new(), None),
    };
    let r = Req {
        method,
        path,
        query,
        headers,
        body,
        raw,
    };
    if let Some(object) = r.path.strip_prefix("/cdn/") {
        fake.hold_while_hung(object).await;
    }
    let resp = match early {
        Some(e) => e,
        None => dispatch(&fake, &r),
    };
    fake.st().requests.push(Recorded {
        method: r.method.clone(),
        path: r.path.clone(),
        query: r.query.clone(),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        form,
        signed,
        body_len: r.raw.len(),
        status: resp.status,
    });
    let mut out = Response::new(Body::from(resp.body));
    *out.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    out.headers_mut()
        .insert("content-type", HeaderValue::from_static(resp.content_type));
    for (k, v) in resp.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            out.headers_mut().append(k, v);
        }
    }
    out
}

fn dispatch(fake: &FakeInstagram, r: &Req) -> Resp {
    {
        let mut st = fake.st();
        if let Some(f) = st
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && r.path.contains(&f.path_contains))
        {
            f.times -= 1;
            return Resp::bytes(f.status, f.body.clone().into_bytes(), "application/json");
        }
    }
    if let Some(rest) = r.path.strip_prefix("/api/v1/") {
        if let Err(e) = wire::check_api_headers(&r.headers) {
            return Resp::fail(400, &e);
        }
        let rest = rest.trim_end_matches('/').to_owned();
        let segs: Vec<&str> = rest.split('/').collect();
        if let Some(resp) = api_login::route(fake, r, &segs) {
            return resp;
        }
        if let Some(resp) = api_direct::route(fake, r, &segs) {
            return resp;
        }
        return Resp::bytes(404, b"Not Found".to_vec(), "text/plain");
    }
    if let Some(rest) = r.path.strip_prefix("/rupload/") {
        return api_media::rupload(fake, r, rest);
    }
    if let Some(rest) = r.path.strip_prefix("/cdn/") {
        return api_media::cdn(fake, r, rest);
    }
    Resp::bytes(404, b"Not Found".to_vec(), "text/plain")
}

impl SessionRec {
    pub(crate) fn new(pk: i64, sessionid: String) -> Self {
        SessionRec {
            pk,
            sessionid,
            alive: true,
            logout_reason: 0,
            shbid: None,
            shbts: None,
        }
    }
}
