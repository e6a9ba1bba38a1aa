//! The bridgev2-compatible provisioning API under `/_matrix/provision/v3` on the appservice
//! listener (enough for mautrix-manager to log a user in): routes here, the parts in
//! `auth.rs` (who asks), `login.rs` and `process.rs` (login processes), `steps.rs` (JSON
//! shapes), `account.rs` (whoami, logins, logout), `snc.rs` (starting chats) and `proxy.rs`
//! (the user's proxy, an addition of this bridge). Served only
//! when `provisioning.shared_secret` is at least 16 characters.

pub mod account;
pub mod auth;
pub mod error;
pub mod login;
pub mod process;
pub mod proxy;
pub mod snc;
pub mod steps;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::bridge::Bridge;
use error::ProvError;

/// The API's state: the bridge, who may ask, the login processes.
pub struct Provisioning {
    pub bridge: Arc<Bridge>,
    pub auth: auth::Auth,
    pub processes: process::Processes,
}

/// The query every request may carry.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    pub user_id: Option<String>,
    pub login_id: Option<String>,
}

type Answer = Result<Json<Value>, ProvError>;
type Prov = State<Arc<Provisioning>>;

impl Provisioning {
    async fn user(&self, headers: &HeaderMap, params: &Params) -> Result<String, ProvError> {
        self.auth
            .user(&self.bridge.config, headers, params.user_id.as_deref())
            .await
    }
}

/// The API's routes, or `None` when it is disabled.
pub fn router(bridge: Arc<Bridge>) -> Option<Router> {
    if !bridge.config.provisioning.enabled() {
        return None;
    }
    let prov = Arc::new(Provisioning {
        auth: auth::Auth::new(&bridge.config),
        bridge,
        processes: Default::default(),
    });
    let v3 = Router::new()
        .route("/whoami", get(whoami))
        .route("/login/flows", get(flows))
        .route("/login/start/{flow}", post(start))
        .route("/login/step/{process}/{step}/{kind}", post(step))
        .route("/login/cancel/{process}", post(cancel))
        .route("/logout/{login}", post(logout))
        .route("/logins", get(logins))
        .route("/search_users", post(search_users))
        .route("/resolve_identifier/{id}", get(resolve))
        .route("/create_dm/{id}", post(create_dm))
        .route("/contacts", get(contacts))
        .route("/proxy", get(get_proxy).post(set_proxy))
        .with_state(prov);
    Some(Router::new().nest("/_matrix/provision/v3", v3))
}

/// A JSON body, or the Matrix error saying why not.
fn body<T: serde::de::DeserializeOwned + Default>(raw: &[u8]) -> Result<T, ProvError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(raw).map_err(|e| ProvError::BadJson(format!("Bad JSON body: {e}")))
}

async fn whoami(State(p): Prov, headers: HeaderMap, Query(q): Query<Params>) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    Ok(Json(account::whoami(&p, &mxid).await?))
}

async fn flows(State(p): Prov, headers: HeaderMap, Query(q): Query<Params>) -> Answer {
    p.user(&headers, &q).await?;
    Ok(Json(serde_json::json!({"flows": steps::flows()})))
}

async fn start(
    State(p): Prov,
    headers: HeaderMap,
    Query(q): Query<Params>,
    Path(flow): Path<String>,
) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    Ok(Json(login::start(&p, &mxid, &flow).await?))
}

async fn step(
    State(p): Prov,
    headers: HeaderMap,
    Query(q): Query<Params>,
    Path((process, step, kind)): Path<(String, String, String)>,
    raw: axum::body::Bytes,
) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    let fields: login::Fields = body(&raw)?;
    Ok(Json(
        login::step(&p, &mxid, (&process, &step, &kind), fields).await?,
    ))
}

async fn cancel(
    State(p): Prov,
    headers: HeaderMap,
    Query(q): Query<Params>,
    Path(process): Path<String>,
) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    if !p.processes.cancel(&process, &mxid) {
        return Err(ProvError::NotFound("Login process not found".into()));
    }
    Ok(Json(serde_json::json!({})))
}

async fn logout(
    State(p): Prov,
    headers: HeaderMap,
    Query(q): Query<Params>,
    Path(login): Path<String>,
) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    Ok(Json(account::logout(&p, &mxid, &login).await?))
}

async fn logins(State(p): Prov, headers: HeaderMap, Query(q): Query<Params>) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    let ids: Vec<String> = p
        .bridge
        .logins_of(&mxid)
        .iter()
        .map(|u| u.receiver())
        .collect();
    Ok(Json(serde_json::json!({"login_ids": ids})))
}

#[derive(Debug, Default, Deserialize)]
struct Search {
    #[serde(default)]
    query: String,
}

async fn search_users(
    State(p): Prov,
    headers: HeaderMap,
    Query(q): Query<Params>,
    raw: axum::body::Bytes,
) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    let search: Search = body(&raw)?;
    Ok(Json(snc::search(&p, &mxid, &q, &search.query).await?))
}

async fn resolve(
    State(p): Prov,
    headers: HeaderMap,
    Query(q): Query<Params>,
    Path(id): Path<String>,
) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    Ok(Json(snc::resolve(&p, &mxid, &q, &id).await?))
}

async fn create_dm(
    State(p): Prov,
    headers: HeaderMap,
    Query(q): Query<Params>,
    Path(id): Path<String>,
) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    Ok(Json(snc::create_dm(&p, &mxid, &q, &id).await?))
}

async fn contacts(State(p): Prov, headers: HeaderMap, Query(q): Query<Params>) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    Ok(Json(snc::contacts(&p, &mxid, &q).await?))
}

async fn get_proxy(State(p): Prov, headers: HeaderMap, Query(q): Query<Params>) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    Ok(Json(proxy::get(&p, &mxid).await?))
}

async fn set_proxy(
    State(p): Prov,
    headers: HeaderMap,
    Query(q): Query<Params>,
    raw: axum::body::Bytes,
) -> Answer {
    let mxid = p.user(&headers, &q).await?;
    let change: proxy::Change = body(&raw)?;
    Ok(Json(proxy::set(&p, &mxid, change).await?))
}
