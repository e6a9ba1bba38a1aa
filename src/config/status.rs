//! Config of what the bridge reports about itself: management-room notices of connection
//! state changes (`bridge.bridge_status_notices`).

use serde::{Deserialize, Serialize};

/// Which connection state changes the bot tells the user about in their management room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusNotices {
    /// Never.
    None,
    /// Errors only: a state that needs the user (a challenge, a checkpoint), an unknown error,
    /// a disconnection still unresolved after `bridge_status_notice_delay_secs`, and the
    /// recovery after any of them.
    #[default]
    Errors,
    /// Every change.
    All,
}

/// The default delay before an unresolved transient disconnection is told, in seconds.
pub const DEFAULT_NOTICE_DELAY_SECS: u64 = 180;
