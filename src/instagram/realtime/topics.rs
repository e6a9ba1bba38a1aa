//! MQTToT topic ids (PROTOCOL.md E.7). On the wire a topic is its numeric id as a decimal string.

pub const GRAPHQL: u16 = 9;
pub const PP: u16 = 34;
pub const PUBSUB: u16 = 88;
pub const FOREGROUND_STATE: u16 = 102;
pub const SEND_MESSAGE: u16 = 132;
pub const SEND_MESSAGE_RESPONSE: u16 = 133;
pub const SUB_IRIS: u16 = 134;
pub const SUB_IRIS_RESPONSE: u16 = 135;
pub const MESSAGE_SYNC: u16 = 146;
pub const REALTIME_SUB: u16 = 149;
pub const REGION_HINT: u16 = 150;
pub const LS_RESP: u16 = 179;
pub const RS_REQ: u16 = 244;
pub const RS_RESP: u16 = 245;
pub const RTC_LOG: u16 = 274;

/// M's `subscribe_topics` (bridge posture).
pub const M_SUBSCRIBE_TOPICS: [i32; 11] = [88, 135, 244, 149, 150, 245, 274, 133, 146, 179, 34];

const NAMES: [(u16, &str); 15] = [
    (GRAPHQL, "/graphql"),
    (PP, "/pp"),
    (PUBSUB, "/pubsub"),
    (FOREGROUND_STATE, "/t_fs"),
    (SEND_MESSAGE, "/ig_send_message"),
    (SEND_MESSAGE_RESPONSE, "/ig_send_message_response"),
    (SUB_IRIS, "/ig_sub_iris"),
    (SUB_IRIS_RESPONSE, "/ig_sub_iris_response"),
    (MESSAGE_SYNC, "/ig_message_sync"),
    (REALTIME_SUB, "/ig_realtime_sub"),
    (REGION_HINT, "/t_region_hint"),
    (LS_RESP, "/ls_resp"),
    (RS_REQ, "/rs_req"),
    (RS_RESP, "/rs_resp"),
    (RTC_LOG, "/t_rtc_log"),
];

/// The name of a known topic id.
pub fn name(id: u16) -> Option<&'static str> {
    NAMES.iter().find(|(i, _)| *i == id).map(|(_, n)| *n)
}

/// The id of a known topic name.
pub fn id(name: &str) -> Option<u16> {
    NAMES.iter().find(|(_, n)| *n == name).map(|(i, _)| *i)
}

/// Maps a wire topic (numeric string, or a name some brokers send) to its id.
pub fn parse(wire: &str) -> Option<u16> {
    wire.parse().ok().or_else(|| id(wire))
}

/// The wire form of a topic id.
pub fn wire(id: u16) -> String {
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_map_both_ways() {
        for (i, n) in NAMES {
            assert_eq!(name(i), Some(n));
            assert_eq!(id(n), Some(i));
            assert_eq!(parse(&wire(i)), Some(i));
            assert_eq!(parse(n), Some(i));
        }
        assert_eq!(name(1), None);
        assert_eq!(parse("/nope"), None);
    }
}
