//! Thread operations (PROTOCOL C.3): seen, typing, unsend, edit, groups, requests, hide,
//! mute, mark unread.

use reqwest::Method;

use super::client::{Call, InstagramClient};
use super::direct::{json_list_of_strings, thread_from};
use crate::instagram::Error;
use crate::instagram::ids::{ClientContext, ItemId, ThreadId, UserPk};
use crate::instagram::types::Thread;

impl InstagramClient {
    async fn thread_post(
        &self,
        thread_id: &ThreadId,
        suffix: &str,
        signed: bool,
        fields: Vec<(&str, String)>,
    ) -> Result<serde_json::Value, Error> {
        let call = Call::new(
            Method::POST,
            self.api_url(&format!("direct_v2/threads/{thread_id}/{suffix}")),
        );
        let call = if signed {
            call.signed(fields)
        } else {
            call.form(fields)
        };
        self.call(call).await
    }

    /// Marks an item as seen.
    pub async fn mark_seen(
        &self,
        thread_id: &ThreadId,
        item_id: &ItemId,
        ctx: &ClientContext,
    ) -> Result<(), Error> {
        let fields = vec![
            ("action", "mark_seen".to_owned()),
            ("thread_id", thread_id.to_string()),
            ("item_id", item_id.to_string()),
            ("client_context", ctx.to_string()),
            ("offline_threading_id", ctx.to_string()),
            ("_uuid", self.uuid()),
            ("use_unified_inbox", "true".into()),
        ];
        self.thread_post(thread_id, &format!("items/{item_id}/seen/"), false, fields)
            .await
            .map(drop)
    }

    /// Typing on/off. [uncertain] M types over MQTT; this is the HTTP `indicate_activity`
    /// broadcast used by older clients.
    pub async fn set_typing(
        &self,
        thread_id: &ThreadId,
        typing: bool,
        ctx: &ClientContext,
    ) -> Result<(), Error> {
        let fields = vec![
            ("action", "indicate_activity".to_owned()),
            ("thread_ids", format!("[{thread_id}]")),
            ("client_context", ctx.to_string()),
            ("activity_status", if typing { "1" } else { "0" }.into()),
            ("_uuid", self.uuid()),
        ];
        let call = Call::new(
            Method::POST,
            self.api_url("direct_v2/threads/broadcast/indicate_activity/"),
        )
        .form(fields);
        self.call(call).await.map(drop)
    }

    /// Unsends one of our own items.
    pub async fn unsend(&self, thread_id: &ThreadId, item_id: &ItemId) -> Result<(), Error> {
        let s = self.session();
        let fields = vec![
            ("_csrftoken", s.csrftoken()),
            ("_uuid", s.device.uuid.clone()),
        ];
        self.thread_post(thread_id, &format!("items/{item_id}/delete/"), true, fields)
            .await
            .map(drop)
    }

    /// Edits one of our own text items. **[uncertain]**: only seen in decompiled app code;
    /// sent as a raw form with `original_message_client_context` and `body`.
    pub async fn edit_text(
        &self,
        thread_id: &ThreadId,
        item_id: &ItemId,
        original_client_context: &str,
        new_text: &str,
    ) -> Result<serde_json::Value, Error> {
        let fields = vec![
            (
                "original_message_client_context",
                original_client_context.to_owned(),
            ),
            ("body", new_text.to_owned()),
            ("_uuid", self.uuid()),
        ];
        self.thread_post(thread_id, &format!("items/{item_id}/edit/"), false, fields)
            .await
    }

    /// Creates a group thread.
    pub async fn create_group(
        &self,
        users: &[UserPk],
        title: Option<&str>,
        ctx: &ClientContext,
    ) -> Result<Thread, Error> {
        let s = self.session();
        let mut fields = vec![
            ("_csrftoken", s.csrftoken()),
            ("_uuid", s.device.uuid.clone()),
            (
                "_uid",
                s.user_pk().map(|p| p.to_string()).unwrap_or_default(),
            ),
            ("recipient_users", json_list_of_strings(users)),
            ("client_context", ctx.to_string()),
        ];
        if let Some(t) = title {
            fields.push(("thread_title", t.to_owned()));
        }
        let call =
            Call::new(Method::POST, self.api_url("direct_v2/create_group_thread/")).signed(fields);
        thread_from(self.call(call).await?)
    }

    /// Renames a group.
    pub async fn rename_thread(&self, thread_id: &ThreadId, title: &str) -> Result<(), Error> {
        let s = self.session();
        let fields = vec![
            ("_uuid", s.device.uuid.clone()),
            ("_csrftoken", s.csrftoken()),
            ("title", title.to_owned()),
        ];
        self.thread_post(thread_id, "update_title/", false, fields)
            .await
            .map(drop)
    }

    /// Adds users to a group.
    pub async fn add_users(&self, thread_id: &ThreadId, users: &[UserPk]) -> Result<(), Error> {
        let fields = vec![
            ("_uuid", self.uuid()),
            ("user_ids", json_list_of_strings(users)),
        ];
        self.thread_post(thread_id, "add_user/", false, fields)
            .await
            .map(drop)
    }

    /// Removes users from a group. [uncertain] endpoint seen in app code only.
    pub async fn remove_users(&self, thread_id: &ThreadId, users: &[UserPk]) -> Result<(), Error> {
        let fields = vec![
            ("_uuid", self.uuid()),
            ("user_ids", json_list_of_strings(users)),
        ];
        self.thread_post(thread_id, "remove_users/", false, fields)
            .await
            .map(drop)
    }

    /// Leaves a group.
    pub async fn leave_thread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        let s = self.session();
        let fields = vec![
            ("_csrftoken", s.csrftoken()),
            ("_uuid", s.device.uuid.clone()),
        ];
        self.thread_post(thread_id, "leave/", false, fields)
            .await
            .map(drop)
    }

    /// Accepts a message request.
    pub async fn approve_thread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        let fields = vec![("filter", "DEFAULT".to_owned()), ("_uuid", self.uuid())];
        self.thread_post(thread_id, "approve/", false, fields)
            .await
            .map(drop)
    }

    /// Accepts several message requests.
    pub async fn approve_threads(&self, thread_ids: &[ThreadId]) -> Result<(), Error> {
        let fields = vec![
            ("thread_ids", json_list_of_strings(thread_ids)),
            ("folder", String::new()),
            ("_uuid", self.uuid()),
        ];
        let call = Call::new(
            Method::POST,
            self.api_url("direct_v2/threads/approve_multiple/"),
        )
        .signed(fields);
        self.call(call).await.map(drop)
    }

    /// Declines a message request.
    pub async fn decline_thread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        let s = self.session();
        let fields = vec![
            ("_csrftoken", s.csrftoken()),
            ("_uuid", s.device.uuid.clone()),
        ];
        self.thread_post(thread_id, "decline/", false, fields)
            .await
            .map(drop)
    }

    /// Hides (deletes) a thread from the inbox.
    pub async fn hide_thread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        let fields = vec![("_uuid", self.uuid()), ("use_unified_inbox", "true".into())];
        self.thread_post(thread_id, "hide/", false, fields)
            .await
            .map(drop)
    }

    /// Mutes or unmutes a thread.
    pub async fn set_muted(&self, thread_id: &ThreadId, muted: bool) -> Result<(), Error> {
        let suffix = if muted { "mute/" } else { "unmute/" };
        self.thread_post(thread_id, suffix, false, vec![("_uuid", self.uuid())])
            .await
            .map(drop)
    }

    /// Marks a thread unread.
    pub async fn mark_unread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        self.thread_post(
            thread_id,
            "mark_unread/",
            true,
            vec![("_uuid", self.uuid())],
        )
        .await
        .map(drop)
    }
}
