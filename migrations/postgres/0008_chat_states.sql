-- What the bridge last knew of each side's chat state (mute, unread, low priority,
-- favourite) per (Matrix user, room), so that a change made while the bridge was down
-- crosses at the next look, and the echo of the bridge's own write still changes nothing.
-- `matrix` and `instagram` are bit sets (1 muted, 2 unread, 4 low priority, 8 favourite,
-- 16 that side has been seen at least once).
CREATE TABLE chat_states (
    mxid          TEXT NOT NULL,
    room_id       TEXT NOT NULL,
    matrix        SMALLINT NOT NULL,
    instagram     SMALLINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (mxid, room_id)
);
