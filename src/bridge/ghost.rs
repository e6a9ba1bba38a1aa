//! Instagram account → Matrix ghost (`@instagram_<pk>:domain`): registered lazily, display
//! name and avatar kept in step with Instagram.

use std::sync::Arc;

use ruma::UserId;

use super::Bridge;
use super::error::ApplyError;
use super::user::IgUser;
use crate::instagram::ids::UserPk;
use crate::instagram::types::User;
use crate::matrix::Intent;
use crate::store::ghosts::GhostRow;

/// Largest avatar downloaded.
const MAX_AVATAR_BYTES: usize = 5 * 1024 * 1024;

/// The Matrix user id of an Instagram account's ghost.
pub fn ghost_user_id(bridge: &Bridge, pk: i64) -> String {
    bridge.config.ghosts().user_id(pk)
}

/// The display name the config's template gives an Instagram user.
pub fn display_name(bridge: &Bridge, user: &User) -> String {
    let name = user
        .full_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&user.username);
    bridge
        .config
        .bridge
        .displayname_template
        .replace("{displayname}", name)
        .replace("{username}", &user.username)
}

/// The intent of a ghost, without touching its profile.
pub fn ghost_intent(bridge: &Bridge, pk: i64) -> Result<Intent, ApplyError> {
    let id = UserId::parse(ghost_user_id(bridge, pk))
        .map_err(|e| ApplyError::Permanent(format!("bad ghost id for {pk}: {e}")))?;
    Ok(bridge.intents.user(id))
}

/// Ensures the ghost exists with an up-to-date profile. `info` is what Instagram said about
/// the account, when at hand; without it, an unknown account is looked up over HTTP.
pub async fn ensure_ghost(
    bridge: &Arc<Bridge>,
    via: &IgUser,
    pk: i64,
    info: Option<&User>,
) -> Result<Intent, ApplyError> {
    let intent = ghost_intent(bridge, pk)?;
    intent.ensure_registered().await?;
    let row = bridge.store.get_ghost(pk).await?;
    let fetched;
    let info = match (info, &row) {
        (Some(i), _) => Some(i),
        (None, Some(r)) if r.name_set => None,
        (None, _) => {
            fetched = via.client.user_info(UserPk(pk)).await.ok();
            fetched.as_ref()
        }
    };
    let Some(info) = info else {
        return Ok(intent);
    };
    let mut new = row.clone().unwrap_or(GhostRow {
        ig_pk: pk,
        ..Default::default()
    });
    let name = display_name(bridge, info);
    if !new.name_set || new.display_name.as_deref() != Some(name.as_str()) {
        match intent.set_display_name(&name).await {
            Ok(()) => {
                new.display_name = Some(name);
                new.name_set = true;
            }
            Err(e) => tracing::warn!(pk, "cannot set ghost display name: {e}"),
        }
    }
    new.username = Some(info.username.clone());
    let avatar_id = info
        .profile_pic_id
        .clone()
        .or_else(|| info.profile_pic_url.clone());
    if let (Some(avatar_id), Some(url)) = (avatar_id, info.profile_pic_url.as_deref())
        && (!new.avatar_set || new.avatar_id.as_deref() != Some(avatar_id.as_str()))
    {
        match upload_avatar(via, &intent, url).await {
            Ok(mxc) => {
                new.avatar_id = Some(avatar_id);
                new.avatar_mxc = Some(mxc);
                new.avatar_set = true;
            }
            Err(e) => tracing::warn!(pk, "cannot bridge ghost avatar: {e}"),
        }
    }
    if row.as_ref() != Some(&new) {
        bridge.store.upsert_ghost(&new).await?;
    }
    Ok(intent)
}

async fn upload_avatar(via: &IgUser, intent: &Intent, url: &str) -> Result<String, String> {
    let bytes = via
        .client
        .download_media(url, MAX_AVATAR_BYTES)
        .await
        .map_err(|e| e.user_message())?;
    let mime = sniff_image_mime(&bytes);
    let mxc = intent
        .upload(bytes, mime)
        .await
        .map_err(|e| e.to_string())?;
    intent
        .set_avatar_url(mxc.clone())
        .await
        .map_err(|e| e.to_string())?;
    Ok(mxc.to_string())
}

/// The MIME type of common image bytes.
pub fn sniff_image_mime(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else {
        "application/octet-stream"
    }
}
