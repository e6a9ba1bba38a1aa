//! The `encryption` section (mautrix bridgev2's shape): end-to-bridge encryption, the bot's
//! device and its crypto store.

use serde::{Deserialize, Serialize};

use super::{ConfigError, GENERATE, key_error};
use crate::secret::Secret;

/// The default place of the crypto store (a directory holding one SQLite file), relative to
/// the working directory.
pub const DEFAULT_STORE_PATH: &str = "matrix-instagram-crypto";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Whether the bridge works in encrypted rooms at all (joins them, decrypts, encrypts).
    pub allow: bool,
    /// New portals are created with `m.room.encryption` (needs `allow`).
    pub default: bool,
    /// Unencrypted events in portals are refused with a notice (needs `allow`).
    pub require: bool,
    /// Receive to-device events, device list changes and one-time-key counts in appservice
    /// transactions (MSC2409, MSC3202) instead of a `/sync` loop for the bot. The registration
    /// asks for them when this is on (whatever `allow` says); changing it means writing the
    /// registration again.
    pub appservice: bool,
    /// Create the bot's device with MSC4190 (`PUT /devices/{id}` as the appservice) instead of
    /// an appservice login.
    pub msc4190: bool,
    /// Cross-sign the bot's device with keys of its own, so clients don't flag it.
    pub self_sign: bool,
    /// Encrypts the crypto store. `generate` makes one at `generate-registration`. Changing it
    /// makes the store unreadable: the bot then needs a new device.
    pub pickle_key: Secret,
    /// Where the crypto store lives (a directory; it holds `matrix-sdk-crypto.sqlite3`). It
    /// must be backed up together with the database.
    pub store_path: String,
    /// How long a conversation waits for the room key of a message it cannot decrypt yet,
    /// in seconds, before the message is set aside (a dead letter) with a notice.
    pub key_wait_secs: u64,
    pub delete_keys: DeleteKeysConfig,
    pub verification_levels: VerificationLevels,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        Self {
            allow: false,
            default: false,
            require: false,
            appservice: false,
            msc4190: false,
            self_sign: false,
            pickle_key: Secret::new(GENERATE),
            store_path: DEFAULT_STORE_PATH.to_string(),
            key_wait_secs: 60,
            delete_keys: DeleteKeysConfig::default(),
            verification_levels: VerificationLevels::default(),
        }
    }
}

/// Deleting Megolm sessions the bridge holds (mautrix's options). matrix-sdk-crypto 0.18's
/// store has no call that deletes or ratchets an inbound Megolm session, and it keeps its
/// outbound sessions as inbound ones (to read its own messages), so none of these can be
/// honoured: each must stay `false`, and validation says why by name.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeleteKeysConfig {
    pub delete_outbound_on_ack: bool,
    pub dont_store_outbound: bool,
    pub ratchet_on_decrypt: bool,
    pub delete_fully_used_on_decrypt: bool,
    pub delete_prev_on_new_session: bool,
    pub delete_on_device_delete: bool,
    pub periodically_delete_expired: bool,
    pub delete_outdated_inbound: bool,
}

impl DeleteKeysConfig {
    /// The first option turned on, with why it cannot be honoured.
    fn unsupported(&self) -> Option<(&'static str, &'static str)> {
        const NO_DELETE: &str = "cannot be honoured: matrix-sdk-crypto's store cannot delete \
                                 inbound Megolm sessions; set it to false";
        [
            (
                "delete_outbound_on_ack",
                self.delete_outbound_on_ack,
                "is Beeper-specific (hungryserv key-backup acknowledgements); set it to false",
            ),
            (
                "dont_store_outbound",
                self.dont_store_outbound,
                "cannot be honoured: matrix-sdk-crypto always keeps its outbound sessions as \
                 inbound ones; set it to false",
            ),
            (
                "ratchet_on_decrypt",
                self.ratchet_on_decrypt,
                "cannot be honoured: matrix-sdk-crypto's store cannot ratchet an inbound \
                 Megolm session forward; set it to false",
            ),
            (
                "delete_fully_used_on_decrypt",
                self.delete_fully_used_on_decrypt,
                NO_DELETE,
            ),
            (
                "delete_prev_on_new_session",
                self.delete_prev_on_new_session,
                NO_DELETE,
            ),
            (
                "delete_on_device_delete",
                self.delete_on_device_delete,
                NO_DELETE,
            ),
            (
                "periodically_delete_expired",
                self.periodically_delete_expired,
                NO_DELETE,
            ),
            (
                "delete_outdated_inbound",
                self.delete_outdated_inbound,
                NO_DELETE,
            ),
        ]
        .into_iter()
        .find_map(|(name, on, why)| on.then_some((name, why)))
    }
}

/// How far a device must be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationLevel {
    /// Any device.
    Unverified,
    /// A device signed by its owner's cross-signing key, whichever that key is.
    CrossSignedUntrusted,
    /// As `cross-signed-untrusted`, the owner's identity pinned at first use.
    CrossSignedTofu,
    /// A device signed by an owner identity the bot verified.
    CrossSignedVerified,
    /// A device verified one by one.
    Verified,
}

impl VerificationLevel {
    /// The name in the config.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unverified => "unverified",
            Self::CrossSignedUntrusted => "cross-signed-untrusted",
            Self::CrossSignedTofu => "cross-signed-tofu",
            Self::CrossSignedVerified => "cross-signed-verified",
            Self::Verified => "verified",
        }
    }
}

/// The levels in mautrix's sense: `receive` is about Instagram → Matrix (who gets the keys),
/// `send` about Matrix → Instagram (whose messages are bridged), `share` about key requests.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerificationLevels {
    /// The devices the room key of messages bridged from Instagram is shared with.
    pub receive: VerificationLevel,
    /// The devices whose messages are bridged to Instagram; others are refused with a notice.
    pub send: VerificationLevel,
    /// The devices whose key requests are answered. The bridge answers no key requests at all
    /// (matrix-sdk-crypto's key forwarding is not built in), which meets every level.
    pub share: VerificationLevel,
}

impl Default for VerificationLevels {
    fn default() -> Self {
        Self {
            receive: VerificationLevel::Unverified,
            send: VerificationLevel::Unverified,
            share: VerificationLevel::CrossSignedTofu,
        }
    }
}

impl EncryptionConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.allow {
            for (key, on) in [
                ("encryption.default", self.default),
                ("encryption.require", self.require),
            ] {
                if on {
                    return Err(key_error(key, "needs `encryption.allow: true`"));
                }
            }
            return Ok(());
        }
        if !self.appservice {
            return Err(key_error(
                "encryption.appservice",
                "must be true when encryption is allowed: the bot receives its keys in \
                 appservice transactions (MSC2409/MSC3202); a /sync loop is not implemented",
            ));
        }
        let key = self.pickle_key.expose();
        if key.is_empty() || key == GENERATE {
            return Err(key_error(
                "encryption.pickle_key",
                "is not set (run generate-registration to generate it)",
            ));
        }
        if self.store_path.trim().is_empty() {
            return Err(key_error("encryption.store_path", "must not be empty"));
        }
        if let Some((name, why)) = self.delete_keys.unsupported() {
            return Err(key_error(format!("encryption.delete_keys.{name}"), why));
        }
        self.verification_levels.validate(self.self_sign)
    }
}

impl VerificationLevels {
    fn validate(&self, self_sign: bool) -> Result<(), ConfigError> {
        for (key, level) in [
            ("encryption.verification_levels.receive", self.receive),
            ("encryption.verification_levels.send", self.send),
        ] {
            if level == VerificationLevel::Verified {
                return Err(key_error(
                    key,
                    "cannot be `verified`: the bridge cannot verify devices one by one; use \
                     `cross-signed-verified` or a lower level",
                ));
            }
        }
        if self.receive != VerificationLevel::Unverified && !self_sign {
            return Err(key_error(
                "encryption.verification_levels.receive",
                "above `unverified` needs `encryption.self_sign: true` (sharing keys by \
                 cross-signing needs the bot's own cross-signing identity)",
            ));
        }
        Ok(())
    }
}
