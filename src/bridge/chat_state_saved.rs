//! The chat state the bridge knows, as it is kept in the store (`chat_states`): each side of
//! a (user, room) as a bit set, so that what was known before a restart is known after it.

use crate::matrix::chat_state::RoomChatState;
use crate::store::Store;
use crate::store::chat_states::ChatStateRow;

const MUTED: i16 = 1;
const UNREAD: i16 = 2;
const LOW_PRIORITY: i16 = 4;
const FAVOURITE: i16 = 8;
/// The side has been seen at least once (see `chat_state::Side::observed`).
const OBSERVED: i16 = 16;

/// One side as stored: its values and whether it has been seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SavedSide {
    pub state: RoomChatState,
    pub observed: bool,
}

pub fn encode(side: SavedSide) -> i16 {
    let s = side.state;
    [
        (s.muted, MUTED),
        (s.unread, UNREAD),
        (s.low_priority, LOW_PRIORITY),
        (s.favourite, FAVOURITE),
        (side.observed, OBSERVED),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |bits, (_, bit)| bits | bit)
}

pub fn decode(bits: i16) -> SavedSide {
    SavedSide {
        state: RoomChatState {
            muted: bits & MUTED != 0,
            unread: bits & UNREAD != 0,
            low_priority: bits & LOW_PRIORITY != 0,
            favourite: bits & FAVOURITE != 0,
        },
        observed: bits & OBSERVED != 0,
    }
}

/// Both sides (Matrix, Instagram) as last stored, if the bridge ever knew them. A store that
/// cannot be read counts as knowing nothing (logged): the state is then rebuilt as at first
/// sight.
pub async fn load(store: &Store, mxid: &str, room: &str) -> Option<(SavedSide, SavedSide)> {
    match store.get_chat_state(mxid, room).await {
        Ok(row) => row.map(|r| (decode(r.matrix), decode(r.instagram))),
        Err(e) => {
            tracing::warn!(user = mxid, room, "cannot read the known chat state: {e}");
            None
        }
    }
}

/// Stores both sides; a failure is logged (the state in memory stays right for this run).
pub async fn save(store: &Store, mxid: &str, room: &str, matrix: SavedSide, instagram: SavedSide) {
    let row = ChatStateRow {
        mxid: mxid.to_owned(),
        room_id: room.to_owned(),
        matrix: encode(matrix),
        instagram: encode(instagram),
    };
    if let Err(e) = store.put_chat_state(&row).await {
        tracing::warn!(user = mxid, room, "cannot store the known chat state: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_round_trips() {
        for bits in 0..32 {
            assert_eq!(encode(decode(bits)), bits);
        }
        let side = decode(MUTED | FAVOURITE | OBSERVED);
        assert!(side.state.muted && side.state.favourite && side.observed);
        assert!(!side.state.unread && !side.state.low_priority);
        assert_eq!(decode(0), SavedSide::default());
    }
}
