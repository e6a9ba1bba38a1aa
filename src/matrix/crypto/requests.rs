//! The crypto machine's outgoing requests as plain HTTP (method, path, JSON body), and the
//! homeserver's answers read back into the machine's (ruma 0.16) response types.
//!
//! This is the JSON boundary between the two ruma versions: matrix-sdk-crypto's request types
//! are read field by field into `serde_json` values here, and answers are parsed by ruma
//! 0.16's own response parsers, so no ruma 0.16 type leaves this module tree.

use matrix_sdk_crypto::types::requests::{AnyOutgoingRequest, ToDeviceRequest};
use ruma16::api::IncomingResponse;
use ruma16::api::client::keys::{claim_keys, get_keys, upload_keys, upload_signatures};
use ruma16::api::client::to_device::send_event_to_device;
use serde_json::{Value, json};

use super::error::CryptoError;

/// One request ready for the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub kind: Kind,
    pub method: http::Method,
    pub path: String,
    pub body: Value,
}

/// Which answer type a request expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    KeysUpload,
    KeysQuery,
    KeysClaim,
    ToDevice,
    SignatureUpload,
    /// The bot's cross-signing keys (`encryption.self_sign`); its answer is not read.
    SigningKeysUpload,
}

impl Kind {
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::KeysUpload => "keys::upload_keys",
            Self::KeysQuery => "keys::get_keys",
            Self::KeysClaim => "keys::claim_keys",
            Self::ToDevice => "to_device::send_event_to_device",
            Self::SignatureUpload => "keys::upload_signatures",
            Self::SigningKeysUpload => "keys::upload_signing_keys",
        }
    }
}

fn to_json<T: serde::Serialize>(kind: Kind, value: &T) -> Result<Value, CryptoError> {
    serde_json::to_value(value).map_err(|e| CryptoError::Answer {
        endpoint: kind.endpoint(),
        reason: format!("cannot write the request: {e}"),
    })
}

/// Percent-encodes one path segment (event types and transaction ids are opaque text).
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The HTTP form of a to-device request.
pub fn to_device(request: &ToDeviceRequest) -> Result<HttpRequest, CryptoError> {
    let kind = Kind::ToDevice;
    Ok(HttpRequest {
        kind,
        method: http::Method::PUT,
        path: format!(
            "/_matrix/client/v3/sendToDevice/{}/{}",
            segment(&request.event_type.to_string()),
            segment(request.txn_id.as_str())
        ),
        body: json!({ "messages": to_json(kind, &request.messages)? }),
    })
}

/// The HTTP form of any outgoing request, or `None` for kinds the bridge never sends (in-room
/// verification messages: the bot does not verify interactively).
pub fn http_request(request: &AnyOutgoingRequest) -> Result<Option<HttpRequest>, CryptoError> {
    let post = |kind: Kind, path: &str, body: Value| HttpRequest {
        kind,
        method: http::Method::POST,
        path: format!("/_matrix/client/v3/{path}"),
        body,
    };
    let built = match request {
        AnyOutgoingRequest::KeysUpload(r) => {
            let kind = Kind::KeysUpload;
            let mut body = serde_json::Map::new();
            if let Some(keys) = &r.device_keys {
                body.insert("device_keys".into(), to_json(kind, keys)?);
            }
            if !r.one_time_keys.is_empty() {
                body.insert("one_time_keys".into(), to_json(kind, &r.one_time_keys)?);
            }
            if !r.fallback_keys.is_empty() {
                body.insert("fallback_keys".into(), to_json(kind, &r.fallback_keys)?);
            }
            post(kind, "keys/upload", Value::Object(body))
        }
        AnyOutgoingRequest::KeysQuery(r) => {
            let kind = Kind::KeysQuery;
            let mut body = json!({ "device_keys": to_json(kind, &r.device_keys)? });
            if let Some(timeout) = r.timeout {
                body["timeout"] = json!(timeout.as_millis() as u64);
            }
            post(kind, "keys/query", body)
        }
        AnyOutgoingRequest::KeysClaim(r) => {
            let kind = Kind::KeysClaim;
            let mut body = json!({ "one_time_keys": to_json(kind, &r.one_time_keys)? });
            if let Some(timeout) = r.timeout {
                body["timeout"] = json!(timeout.as_millis() as u64);
            }
            post(kind, "keys/claim", body)
        }
        AnyOutgoingRequest::ToDeviceRequest(r) => to_device(r)?,
        AnyOutgoingRequest::SignatureUpload(r) => {
            let kind = Kind::SignatureUpload;
            post(
                kind,
                "keys/signatures/upload",
                to_json(kind, &r.signed_keys)?,
            )
        }
        AnyOutgoingRequest::RoomMessage(_) => return Ok(None),
    };
    Ok(Some(built))
}

/// An answer parsed into the machine's response type.
pub enum Answer {
    KeysUpload(upload_keys::v3::Response),
    KeysQuery(get_keys::v3::Response),
    KeysClaim(claim_keys::v3::Response),
    ToDevice(send_event_to_device::v3::Response),
    SignatureUpload(upload_signatures::v3::Response),
}

fn parse<R: IncomingResponse>(kind: Kind, body: &[u8]) -> Result<R, CryptoError> {
    let response = http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| CryptoError::Answer {
            endpoint: kind.endpoint(),
            reason: e.to_string(),
        })?;
    R::try_from_http_response(response).map_err(|e| CryptoError::Answer {
        endpoint: kind.endpoint(),
        reason: e.to_string(),
    })
}

/// Reads a successful answer's body.
pub fn answer(kind: Kind, body: &[u8]) -> Result<Answer, CryptoError> {
    Ok(match kind {
        Kind::KeysUpload => Answer::KeysUpload(parse(kind, body)?),
        Kind::KeysQuery => Answer::KeysQuery(parse(kind, body)?),
        Kind::KeysClaim => Answer::KeysClaim(parse(kind, body)?),
        Kind::ToDevice => Answer::ToDevice(parse(kind, body)?),
        Kind::SignatureUpload | Kind::SigningKeysUpload => {
            Answer::SignatureUpload(parse(Kind::SignatureUpload, body)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("m.room.encrypted"), "m.room.encrypted");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn answers_are_read_and_bad_ones_refused() {
        let ok = answer(
            Kind::KeysUpload,
            br#"{"one_time_key_counts":{"signed_curve25519":50}}"#,
        );
        assert!(matches!(ok, Ok(Answer::KeysUpload(r)) if r.one_time_key_counts.len() == 1));
        let bad = answer(Kind::KeysUpload, br#"{"one_time_key_counts":"many"}"#);
        assert!(
            matches!(
                bad,
                Err(CryptoError::Answer {
                    endpoint: "keys::upload_keys",
                    ..
                })
            ),
            "{:?}",
            bad.err()
        );
        assert!(matches!(
            answer(Kind::ToDevice, b"{}"),
            Ok(Answer::ToDevice(_))
        ));
    }
}
