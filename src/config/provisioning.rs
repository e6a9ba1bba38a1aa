//! The `provisioning` section: the bridgev2-compatible provisioning API
//! (`/_matrix/provision/v3` on the appservice listener).

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// A shared secret shorter than this disables the API.
pub const MIN_SHARED_SECRET: usize = 16;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisioningConfig {
    /// Sent by integrations as `Authorization: Bearer <secret>` with `?user_id=`. `generate`
    /// makes one; shorter than 16 characters (or empty) disables the API.
    pub shared_secret: Secret,
    /// Also accept the user's own Matrix access token (checked with the homeserver).
    pub allow_matrix_auth: bool,
}

impl ProvisioningConfig {
    /// Whether the API is served at all.
    pub fn enabled(&self) -> bool {
        self.shared_secret.expose().chars().count() >= MIN_SHARED_SECRET
            && self.shared_secret.expose() != super::GENERATE
    }
}
