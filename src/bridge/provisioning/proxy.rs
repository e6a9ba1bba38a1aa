//! `GET /v3/proxy` and `POST /v3/proxy` (this bridge's own addition; bridgev2 has no such
//! endpoint): the user's proxy with its password masked, and changing it as the `proxy`
//! command does (`{"proxy": "<url>" | "off" | "default"}`), the running account moved onto
//! it and tried once.

use serde::Deserialize;
use serde_json::{Value, json};

use super::Provisioning;
use super::error::ProvError;
use crate::bridge::proxy::{self, Effective, ProxyLookupError, Source};
use crate::bridge::proxy_switch::{Switched, switch};

/// The body of `POST /proxy`.
#[derive(Debug, Default, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub proxy: Option<String>,
}

impl From<ProxyLookupError> for ProvError {
    fn from(e: ProxyLookupError) -> Self {
        match e {
            ProxyLookupError::Store(e) => e.into(),
            stored @ ProxyLookupError::Stored(_) => ProvError::BadState(stored.to_string()),
        }
    }
}

fn shown(e: &Effective) -> Value {
    json!({
        "proxy": e.proxy.as_ref().map(ToString::to_string),
        "source": match e.source {
            Source::User => "user",
            Source::Default => "default",
        },
    })
}

pub async fn get(prov: &Provisioning, mxid: &str) -> Result<Value, ProvError> {
    Ok(shown(&proxy::effective(&prov.bridge, mxid).await?))
}

pub async fn set(prov: &Provisioning, mxid: &str, change: Change) -> Result<Value, ProvError> {
    let text = change.proxy.ok_or(ProvError::MissingParam(
        "proxy: a proxy URL, \"off\" or \"default\"",
    ))?;
    let setting =
        proxy::parse_setting(&text).map_err(|e| ProvError::BadJson(format!("proxy: {e}")))?;
    let effective = proxy::set(&prov.bridge, mxid, &setting).await?;
    let mut answer = shown(&effective);
    let (reconnected, working, error) =
        match switch(&prov.bridge, mxid, effective.proxy.clone()).await {
            Switched::NotLoggedIn => (false, Value::Null, None),
            Switched::Working => (true, json!(true), None),
            Switched::Failing(e) => (true, json!(false), Some(e.to_string())),
            Switched::NotRestarted(e) => (false, json!(false), Some(e)),
        };
    answer["reconnected"] = json!(reconnected);
    answer["working"] = working;
    answer["error"] = json!(error);
    Ok(answer)
}
