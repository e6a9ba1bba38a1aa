//! The bot's device on the homeserver: the one the crypto store already holds, or a new one
//! made with MSC4190 (`PUT /devices/{id}` as the appservice) or an appservice login.

use matrix_sdk_crypto::store::CryptoStore;
use matrix_sdk_sqlite::SqliteCryptoStore;
use serde_json::json;

use super::error::CryptoError;
use crate::matrix::client::HomeserverClient;

/// How a new bot device is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCreation {
    /// `PUT /_matrix/client/v3/devices/{deviceId}` with the appservice token (MSC4190).
    Msc4190,
    /// `POST /_matrix/client/v3/login` with `m.login.application_service`.
    AppserviceLogin,
}

/// The display name of the bot's device.
pub const DEVICE_NAME: &str = "Instagram bridge";

/// The device id of the account the store holds, if any.
pub async fn stored_device(store: &SqliteCryptoStore) -> Result<Option<String>, CryptoError> {
    let account = store
        .load_account()
        .await
        .map_err(|e| CryptoError::Store(e.to_string()))?;
    Ok(account.map(|a| a.device_id().to_string()))
}

/// A fresh device id: `IGBRIDGE` and ten random capitals.
fn new_device_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let tail: String = (0..10)
        .map(|_| char::from(b'A' + rng.gen_range(0..26u8)))
        .collect();
    format!("IGBRIDGE{tail}")
}

/// Makes a new device for the bot on the homeserver; returns its id.
pub async fn create(
    client: &HomeserverClient,
    how: &DeviceCreation,
) -> Result<String, CryptoError> {
    let device_id = new_device_id();
    let bot = client.bot().to_string();
    match how {
        DeviceCreation::Msc4190 => {
            let path = format!("/_matrix/client/v3/devices/{device_id}");
            client
                .send_json(
                    "device::create_device (MSC4190)",
                    http::Method::PUT,
                    &path,
                    &[("user_id", bot.as_str())],
                    Some(&json!({ "display_name": DEVICE_NAME })),
                )
                .await?;
        }
        DeviceCreation::AppserviceLogin => {
            // The answer's access token is not kept: the bot's requests carry the appservice
            // token and name the device (MSC3202).
            client
                .send_json(
                    "session::login (appservice)",
                    http::Method::POST,
                    "/_matrix/client/v3/login",
                    &[],
                    Some(&json!({
                        "type": "m.login.application_service",
                        "identifier": { "type": "m.id.user", "user": bot },
                        "device_id": device_id,
                        "initial_device_display_name": DEVICE_NAME,
                    })),
                )
                .await?;
        }
    }
    tracing::info!(%device_id, "made a new device for the bot");
    Ok(device_id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn device_ids_are_fresh_and_plain() {
        let a = super::new_device_id();
        let b = super::new_device_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 18);
        assert!(a.chars().all(|c| c.is_ascii_uppercase()));
    }
}
