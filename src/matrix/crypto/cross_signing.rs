//! `encryption.self_sign`: the bot's own cross-signing identity (master, self-signing and
//! user-signing keys made by matrix-sdk-crypto and kept in its crypto store), published once,
//! with the bot's device signed by its self-signing key, so clients see the bridge's device
//! as cross-signed by its owner.
//!
//! Synapse lets an appservice user upload signing keys without user-interactive auth (the
//! first upload needs none for anyone, MSC3967; a replacement needs none for an appservice
//! requester), and answers an identical re-upload with 200 at once.

use serde_json::{Value, json};

use super::requests::{self, HttpRequest};
use super::{Crypto, CryptoError, boxed, store_error};

/// The crypto store's record that the identity it holds was published (custom value).
const PUBLISHED: &str = "matrix_instagram.cross_signing_published";

/// Whether the store holds a complete identity and the record that it was published.
pub async fn published(crypto: &Crypto) -> bool {
    let complete = crypto.machine.cross_signing_status().await.is_complete();
    let recorded = crypto.machine.store().get_custom_value(PUBLISHED).await;
    complete && matches!(recorded, Ok(Some(_)))
}

/// Makes and publishes the bot's cross-signing identity unless the store holds one already
/// published; idempotent across restarts.
pub async fn ensure(crypto: &Crypto) -> Result<(), CryptoError> {
    let machine = &crypto.machine;
    let status = machine.cross_signing_status().await;
    let store = machine.store();
    let published = store
        .get_custom_value(PUBLISHED)
        .await
        .map_err(store_error)?
        .is_some();
    if status.is_complete() && published {
        tracing::debug!("end-to-bridge encryption: the bot's cross-signing identity is published");
        return Ok(());
    }
    // A complete identity not known to be published is sent again as it is (the homeserver
    // takes identical keys); an incomplete or missing one is made anew.
    let reset = !status.is_complete();
    let bootstrap = boxed(machine.bootstrap_cross_signing(reset))
        .await
        .map_err(store_error)?;
    if let Some(upload) = &bootstrap.upload_keys_req
        && let Some(http) = requests::http_request(upload.request())?
    {
        crypto.send(upload.request_id(), http).await?;
    }
    let signing = &bootstrap.upload_signing_keys_req;
    let mut keys = serde_json::Map::new();
    for (name, key) in [
        ("master_key", &signing.master_key),
        ("self_signing_key", &signing.self_signing_key),
        ("user_signing_key", &signing.user_signing_key),
    ] {
        if let Some(key) = key {
            keys.insert(name.into(), to_json(key)?);
        }
    }
    crypto
        .send_unmarked(HttpRequest {
            kind: requests::Kind::SigningKeysUpload,
            method: http::Method::POST,
            path: "/_matrix/client/v3/keys/device_signing/upload".into(),
            body: Value::Object(keys),
        })
        .await?;
    let signatures = to_json(&bootstrap.upload_signatures_req.signed_keys)?;
    let answer = crypto
        .send_unmarked(HttpRequest {
            kind: requests::Kind::SignatureUpload,
            method: http::Method::POST,
            path: "/_matrix/client/v3/keys/signatures/upload".into(),
            body: signatures,
        })
        .await?;
    refuse_failures(&answer)?;
    store
        .set_custom_value(PUBLISHED, b"1".to_vec())
        .await
        .map_err(store_error)?;
    tracing::info!(
        new = reset,
        "end-to-bridge encryption: the bot's device is cross-signed by the bot"
    );
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, CryptoError> {
    serde_json::to_value(value).map_err(|e| CryptoError::Invalid {
        what: "cross-signing keys",
        reason: e.to_string(),
    })
}

/// A signatures upload answers 200 with the signatures it refused under `failures`.
fn refuse_failures(answer: &Value) -> Result<(), CryptoError> {
    match answer.get("failures").and_then(Value::as_object) {
        Some(failures) if !failures.is_empty() => Err(CryptoError::Answer {
            endpoint: requests::Kind::SignatureUpload.endpoint(),
            reason: format!("signatures refused: {}", json!(failures)),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_signatures_are_an_error() {
        assert!(refuse_failures(&json!({})).is_ok());
        assert!(refuse_failures(&json!({"failures": {}})).is_ok());
        let refused = json!({"failures": {"@bot:hs": {"DEV": {"errcode": "M_INVALID_SIGNATURE"}}}});
        let e = refuse_failures(&refused).unwrap_err();
        assert!(e.to_string().contains("M_INVALID_SIGNATURE"), "{e}");
    }
}
