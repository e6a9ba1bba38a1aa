-- Events that failed permanently leave the inbox into dead_letters, with the reason, instead
-- of being dropped: an admin can list them and put them back (`dead-letters`, `retry`).
CREATE TABLE dead_letters (
    id            BIGINT PRIMARY KEY,
    source        TEXT NOT NULL,
    portal_key    TEXT NOT NULL,
    receiver      TEXT NOT NULL DEFAULT '',
    payload       TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    failed_at_ms  BIGINT NOT NULL
);

-- Which bridge process works on a conversation, until when. A process claims a conversation
-- before applying its rows and renews the claim while it works, so that several processes on
-- one database never apply the same conversation at once.
CREATE TABLE conversation_claims (
    conversation  TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
