//! Server-side message search (`POST /search`, room events), as one user, in given rooms.
//!
//! Nothing here knows about Instagram.

use ruma::api::client::filter::RoomEventFilter;
use ruma::api::client::search::search_events::v3::{Categories, Criteria, Request};
use ruma::{OwnedEventId, OwnedRoomId, UInt};
use serde_json::Value;

use super::client::MatrixError;
use super::intent::Intent;

/// One message the search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub room_id: OwnedRoomId,
    pub event_id: OwnedEventId,
    pub sender: String,
    pub body: String,
}

/// The found messages in a search answer's events (JSON; an event without a room, an id or a
/// text body is passed over).
pub fn found_in(events: &[Value]) -> Vec<Found> {
    events
        .iter()
        .filter_map(|e| {
            Some(Found {
                room_id: OwnedRoomId::try_from(e["room_id"].as_str()?).ok()?,
                event_id: OwnedEventId::try_from(e["event_id"].as_str()?).ok()?,
                sender: e["sender"].as_str().unwrap_or_default().to_owned(),
                body: e["content"]["body"].as_str()?.to_owned(),
            })
        })
        .collect()
}

impl Intent {
    /// Messages containing `term` in `rooms` (newest first, at most `limit`), as the homeserver
    /// finds them for this user (rooms they are in; encrypted rooms are not searchable).
    pub async fn search_messages(
        &self,
        term: &str,
        rooms: Vec<OwnedRoomId>,
        limit: u32,
    ) -> Result<Vec<Found>, MatrixError> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let mut filter = RoomEventFilter::default();
        filter.rooms = Some(rooms);
        filter.types = Some(vec!["m.room.message".into()]);
        filter.limit = Some(UInt::from(limit));
        let mut criteria = Criteria::new(term.to_owned());
        criteria.filter = filter;
        criteria.order_by = Some(ruma::api::client::search::search_events::v3::OrderBy::Recent);
        let mut categories = Categories::new();
        categories.room_events = Some(criteria);
        let response = self
            .client()
            .send(Request::new(categories), Some(&self.user_id))
            .await?;
        let events: Vec<Value> = response
            .search_categories
            .room_events
            .results
            .iter()
            .filter_map(|r| r.result.as_ref())
            .filter_map(|raw| serde_json::from_str(raw.json().get()).ok())
            .collect();
        let mut found = found_in(&events);
        found.truncate(limit as usize);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn found_messages_need_a_room_an_id_and_a_body() {
        let events = [
            json!({"room_id": "!r:x", "event_id": "$e", "sender": "@a:x",
                   "content": {"msgtype": "m.text", "body": "hello there"}}),
            json!({"room_id": "!r:x", "event_id": "$f", "content": {"msgtype": "m.image"}}),
            json!({"event_id": "$g", "content": {"body": "no room"}}),
            json!("garbage"),
        ];
        let found = found_in(&events);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].body, "hello there");
        assert_eq!(found[0].event_id.as_str(), "$e");
    }
}
