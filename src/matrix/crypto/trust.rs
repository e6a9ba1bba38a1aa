//! How far the bridge trusts other devices (`encryption.verification_levels`), told with what
//! matrix-sdk-crypto knows: the room-key sharing strategy for outgoing events, and the
//! sending device's verification state for decrypted ones.
//!
//! The bot never verifies anyone (no interactive verification, no user signatures), so
//! "verified" here can only mean what the library calls trusted; a per-device manual level
//! has no meaning and the config refuses it.

use matrix_sdk_common::deserialized_responses::{
    DecryptedRoomEvent, VerificationLevel, VerificationState,
};
use matrix_sdk_crypto::CollectStrategy;
use matrix_sdk_crypto::types::events::room::encrypted::EncryptedEvent;
use ruma16::serde::Raw;
use ruma16::{RoomId, UserId};

use super::{Crypto, CryptoError, DecryptError, boxed, store_error};

/// How far another device must be trusted, weakest first (mautrix's level names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Any device (`unverified`).
    Any,
    /// A device signed by its owner's current cross-signing identity, whichever that is
    /// (`cross-signed-untrusted`).
    CrossSigned,
    /// As [`CrossSigned`](Self::CrossSigned), and the owner's identity is the one pinned at
    /// first sight: a changed identity is refused until pinned again (`cross-signed-tofu`).
    CrossSignedPinned,
    /// A device the library trusts: signed by an owner identity the bot verified, or verified
    /// itself (`cross-signed-verified`; the bot verifies nobody, so only its own devices).
    Verified,
}

impl Trust {
    /// The mautrix name of the level.
    pub fn name(self) -> &'static str {
        match self {
            Self::Any => "unverified",
            Self::CrossSigned => "cross-signed-untrusted",
            Self::CrossSignedPinned => "cross-signed-tofu",
            Self::Verified => "cross-signed-verified",
        }
    }

    /// The room-key sharing strategy for this level (`verification_levels.receive`). The
    /// identity-based strategy shares with devices signed by their owner's current identity;
    /// the pinning of `CrossSignedPinned` is done by leaving out users whose identity changed
    /// ([`needs_pinned_identity`](Self::needs_pinned_identity)).
    pub fn collect_strategy(self) -> CollectStrategy {
        match self {
            Self::Any => CollectStrategy::AllDevices,
            Self::CrossSigned | Self::CrossSignedPinned => CollectStrategy::IdentityBasedStrategy,
            Self::Verified => CollectStrategy::OnlyTrustedDevices,
        }
    }

    /// Whether a user whose cross-signing identity changed since first seen is left out.
    pub fn needs_pinned_identity(self) -> bool {
        self == Self::CrossSignedPinned
    }

    /// Whether the sending device's keys must be known to judge an event at this level.
    pub fn needs_sender_keys(self) -> bool {
        self > Self::Any
    }
}

/// A decrypted event if its sending device reaches `accept_from`
/// (`verification_levels.send`), else [`DecryptError::Untrusted`]. A sender whose devices the
/// bot does not know yet has them fetched first, and the event is judged again.
pub(super) async fn judge_sender(
    crypto: &Crypto,
    raw: &Raw<EncryptedEvent>,
    room: &RoomId,
    decrypted: DecryptedRoomEvent,
) -> Result<DecryptedRoomEvent, DecryptError> {
    let required = crypto.settings.accept_from;
    if !required.needs_sender_keys() {
        return Ok(decrypted);
    }
    let sender = decrypted.encryption_info.sender.clone();
    let decrypted = if matches!(
        decrypted.encryption_info.verification_state,
        VerificationState::Unverified(VerificationLevel::None(_))
    ) {
        boxed(crypto.machine.update_tracked_users([&*sender]))
            .await
            .map_err(|e| DecryptError::Store(e.to_string()))?;
        crypto
            .send_outgoing_requests()
            .await
            .map_err(|e| DecryptError::KeysUnavailable(e.to_string()))?;
        crypto
            .decrypt_raw(raw, room)
            .await
            .map_err(|e| DecryptError::Undecryptable(e.to_string()))?
    } else {
        decrypted
    };
    let pin = crypto.pin_violation(&sender).await?;
    let state = &decrypted.encryption_info.verification_state;
    if sender_trust(state, pin) < required {
        return Err(DecryptError::Untrusted {
            required: required.name(),
            reason: shortfall(state, pin),
        });
    }
    Ok(decrypted)
}

/// The members a room key may go to: all of them, or with `cross-signed-tofu` those whose
/// cross-signing identity is still the one pinned (a changed identity gets no key).
pub(super) async fn pinned_only<'a>(
    crypto: &Crypto,
    members: Vec<&'a UserId>,
) -> Result<Vec<&'a UserId>, CryptoError> {
    if !crypto.settings.share_with.needs_pinned_identity() {
        return Ok(members);
    }
    let mut kept = Vec::with_capacity(members.len());
    for member in members {
        let identity = boxed(crypto.machine.get_identity(member, None))
            .await
            .map_err(store_error)?;
        match identity {
            Some(matrix_sdk_crypto::UserIdentity::Other(other))
                if other.identity_needs_user_approval() =>
            {
                tracing::info!(user = %member, "no room key: the user's cross-signing identity changed");
            }
            _ => kept.push(member),
        }
    }
    Ok(kept)
}

/// The level a decrypted event's sending device reaches, from the library's verification
/// state; `pin_violation` says whether the sender's identity changed since the bot pinned it.
pub fn sender_trust(state: &VerificationState, pin_violation: bool) -> Trust {
    match state {
        VerificationState::Verified => Trust::Verified,
        VerificationState::Unverified(VerificationLevel::UnverifiedIdentity) if !pin_violation => {
            Trust::CrossSignedPinned
        }
        // Cross-signed by the owner's current identity, which is not the pinned one (or was
        // verified once and changed since).
        VerificationState::Unverified(
            VerificationLevel::UnverifiedIdentity | VerificationLevel::VerificationViolation,
        ) => Trust::CrossSigned,
        VerificationState::Unverified(
            VerificationLevel::UnsignedDevice
            | VerificationLevel::None(_)
            | VerificationLevel::MismatchedSender,
        ) => Trust::Any,
    }
}

/// Why the sender is not trusted enough, for the notice (no key material in it).
pub fn shortfall(state: &VerificationState, pin_violation: bool) -> String {
    match state {
        VerificationState::Verified => "the sending device is verified".into(),
        VerificationState::Unverified(VerificationLevel::UnverifiedIdentity) if pin_violation => {
            "the sender's cross-signing identity changed since the bridge first saw it".into()
        }
        VerificationState::Unverified(level) => {
            let text = level.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_sdk_common::deserialized_responses::DeviceLinkProblem;

    fn unverified(level: VerificationLevel) -> VerificationState {
        VerificationState::Unverified(level)
    }

    #[test]
    fn levels_are_ordered_weakest_first() {
        assert!(Trust::Any < Trust::CrossSigned);
        assert!(Trust::CrossSigned < Trust::CrossSignedPinned);
        assert!(Trust::CrossSignedPinned < Trust::Verified);
        assert!(!Trust::Any.needs_sender_keys());
        assert!(Trust::CrossSigned.needs_sender_keys());
    }

    #[test]
    fn sharing_strategies_follow_the_level() {
        assert_eq!(Trust::Any.collect_strategy(), CollectStrategy::AllDevices);
        assert_eq!(
            Trust::CrossSigned.collect_strategy(),
            CollectStrategy::IdentityBasedStrategy
        );
        assert_eq!(
            Trust::CrossSignedPinned.collect_strategy(),
            CollectStrategy::IdentityBasedStrategy
        );
        assert!(Trust::CrossSignedPinned.needs_pinned_identity());
        assert!(!Trust::CrossSigned.needs_pinned_identity());
        assert_eq!(
            Trust::Verified.collect_strategy(),
            CollectStrategy::OnlyTrustedDevices
        );
    }

    #[test]
    fn senders_reach_the_level_their_device_state_allows() {
        let missing = unverified(VerificationLevel::None(DeviceLinkProblem::MissingDevice));
        for (state, pin, reached) in [
            (VerificationState::Verified, false, Trust::Verified),
            (
                unverified(VerificationLevel::UnverifiedIdentity),
                false,
                Trust::CrossSignedPinned,
            ),
            (
                unverified(VerificationLevel::UnverifiedIdentity),
                true,
                Trust::CrossSigned,
            ),
            (
                unverified(VerificationLevel::VerificationViolation),
                false,
                Trust::CrossSigned,
            ),
            (
                unverified(VerificationLevel::UnsignedDevice),
                false,
                Trust::Any,
            ),
            (
                unverified(VerificationLevel::MismatchedSender),
                false,
                Trust::Any,
            ),
            (missing.clone(), false, Trust::Any),
        ] {
            assert_eq!(sender_trust(&state, pin), reached, "{state:?} pin {pin}");
        }
        assert_eq!(
            shortfall(&unverified(VerificationLevel::UnsignedDevice), false),
            "the sending device was not signed by the user's identity"
        );
        assert!(
            shortfall(&unverified(VerificationLevel::UnverifiedIdentity), true).contains("changed")
        );
        assert_eq!(
            shortfall(&missing, false),
            "the sending device is not known"
        );
    }
}
