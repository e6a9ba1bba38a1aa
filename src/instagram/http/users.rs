//! Users, presence and reels: search, profile by pk or username, block/unblock,
//! `get_presence`, `clips/item`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::{Call, InstagramClient};
use crate::instagram::Error;
use crate::instagram::ids::UserPk;
use crate::instagram::types::{Media, User};

/// A user's presence (`get_presence`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPresence {
    #[serde(default)]
    pub is_active: bool,
    #[serde(default, deserialize_with = "crate::instagram::types::opt_lenient_i64")]
    pub last_activity_at_ms: Option<i64>,
}

impl InstagramClient {
    /// Presence of the people we talk to, by user pk.
    pub async fn presence(&self) -> Result<BTreeMap<String, UserPresence>, Error> {
        #[derive(Deserialize)]
        struct Resp {
            #[serde(default)]
            user_presence: BTreeMap<String, UserPresence>,
        }
        let call = Call::new(Method::GET, self.api_url("direct_v2/get_presence/"));
        Ok(self.call_as::<Resp>(call).await?.user_presence)
    }

    /// A reel by its media id alone (for `xma_clip`/reel shares: the `<media_id>` of the
    /// `id=<media_id>_<owner_id>` in `target_url`, as the public clients send it).
    pub async fn clip_info(&self, clips_media_id: &str) -> Result<Media, Error> {
        #[derive(Deserialize)]
        struct Resp {
            media: Media,
        }
        let call = Call::new(Method::GET, self.api_url("clips/item/"))
            .query("clips_media_id", clips_media_id);
        Ok(self.call_as::<Resp>(call).await?.media)
    }

    /// Searches users by name.
    pub async fn search_users(&self, query: &str, count: u32) -> Result<Vec<User>, Error> {
        #[derive(Deserialize)]
        struct Resp {
            #[serde(default)]
            users: Vec<User>,
        }
        let call = Call::new(Method::GET, self.api_url("users/search/"))
            .query("q", query)
            .query("count", count.to_string())
            .query("timezone_offset", self.config().timezone_offset.to_string());
        Ok(self.call_as::<Resp>(call).await?.users)
    }

    /// Blocks (`true`) or unblocks a user (`friendships/block/{pk}/`, `unblock/`; PROTOCOL
    /// C.7): signed `surface`, `is_auto_block_enabled`, `user_id`, `_uid`, `_uuid`,
    /// `_csrftoken`. Returns whether Instagram now says the user is blocked.
    pub async fn set_blocked(&self, pk: UserPk, block: bool) -> Result<bool, Error> {
        #[derive(Deserialize)]
        struct Status {
            #[serde(default)]
            blocking: Option<bool>,
        }
        #[derive(Deserialize)]
        struct Resp {
            #[serde(default)]
            friendship_status: Option<Status>,
        }
        let s = self.session();
        let fields = vec![
            ("surface", "profile".to_owned()),
            ("is_auto_block_enabled", "false".to_owned()),
            ("user_id", pk.to_string()),
            (
                "_uid",
                s.user_pk().map(|p| p.to_string()).unwrap_or_default(),
            ),
            ("_uuid", s.device.uuid.clone()),
            ("_csrftoken", s.csrftoken()),
        ];
        let op = if block { "block" } else { "unblock" };
        let call = Call::new(
            Method::POST,
            self.api_url(&format!("friendships/{op}/{pk}/")),
        )
        .signed(fields);
        let resp = self.call_as::<Resp>(call).await?;
        Ok(resp
            .friendship_status
            .and_then(|f| f.blocking)
            .unwrap_or(block))
    }

    /// A user's profile by pk.
    pub async fn user_info(&self, pk: UserPk) -> Result<User, Error> {
        self.user_at(&format!("users/{pk}/info/")).await
    }

    /// A user's profile by username.
    pub async fn user_by_username(&self, username: &str) -> Result<User, Error> {
        self.user_at(&format!("users/{username}/usernameinfo/"))
            .await
    }

    async fn user_at(&self, path: &str) -> Result<User, Error> {
        #[derive(Deserialize)]
        struct Resp {
            user: User,
        }
        let call = Call::new(Method::GET, self.api_url(path));
        Ok(self.call_as::<Resp>(call).await?.user)
    }
}
