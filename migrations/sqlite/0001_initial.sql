-- matrix-instagram initial schema (SQLite). Keep in step with migrations/postgres.
-- Flags are SMALLINT (0/1) and times BIGINT so the same queries run through sqlx's Any driver.

CREATE TABLE users (
    mxid             TEXT PRIMARY KEY,
    ig_pk            BIGINT,
    ig_username      TEXT,
    session          TEXT,
    management_room  TEXT,
    seq_id           BIGINT,
    snapshot_at_ms   BIGINT,
    connection_state TEXT NOT NULL DEFAULT 'logged_out',
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_management_room ON users (management_room);

CREATE TABLE portals (
    thread_id   TEXT NOT NULL,
    receiver    TEXT NOT NULL,
    room_id     TEXT UNIQUE,
    is_group    SMALLINT NOT NULL DEFAULT 0,
    name        TEXT,
    name_set    SMALLINT NOT NULL DEFAULT 0,
    avatar_id   TEXT,
    avatar_mxc  TEXT,
    avatar_set  SMALLINT NOT NULL DEFAULT 0,
    topic       TEXT,
    topic_set   SMALLINT NOT NULL DEFAULT 0,
    encrypted   SMALLINT NOT NULL DEFAULT 0,
    relay_user  TEXT,
    pending     SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, receiver)
);

CREATE TABLE ghosts (
    ig_pk        BIGINT PRIMARY KEY,
    username     TEXT,
    display_name TEXT,
    avatar_id    TEXT,
    avatar_mxc   TEXT,
    name_set     SMALLINT NOT NULL DEFAULT 0,
    avatar_set   SMALLINT NOT NULL DEFAULT 0,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE messages (
    item_id        TEXT NOT NULL,
    receiver       TEXT NOT NULL,
    part_index     INTEGER NOT NULL DEFAULT 0,
    thread_id      TEXT NOT NULL,
    room_id        TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    sender_pk      BIGINT NOT NULL,
    timestamp_us   BIGINT NOT NULL,
    client_context TEXT,
    edit_count     INTEGER NOT NULL DEFAULT 0,
    content_hash   TEXT,
    PRIMARY KEY (item_id, receiver, part_index),
    UNIQUE (room_id, event_id)
);
CREATE INDEX messages_client_context ON messages (client_context);
CREATE INDEX messages_thread_time ON messages (thread_id, receiver, timestamp_us);

CREATE TABLE reactions (
    item_id      TEXT NOT NULL,
    receiver     TEXT NOT NULL,
    sender_pk    BIGINT NOT NULL,
    room_id      TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    emoji        TEXT NOT NULL,
    timestamp_us BIGINT NOT NULL,
    PRIMARY KEY (item_id, receiver, sender_pk),
    UNIQUE (room_id, event_id)
);

CREATE TABLE txns (
    txn_id          TEXT PRIMARY KEY,
    processed_at_ms BIGINT NOT NULL
);

CREATE TABLE inbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source        TEXT NOT NULL,
    portal_key    TEXT NOT NULL,
    receiver      TEXT NOT NULL DEFAULT '',
    payload       TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX inbox_portal ON inbox (portal_key, id);

CREATE TABLE backfill_tasks (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id          TEXT NOT NULL,
    receiver           TEXT NOT NULL,
    kind               TEXT NOT NULL,
    cursor             TEXT,
    messages_done      INTEGER NOT NULL DEFAULT 0,
    messages_wanted    INTEGER NOT NULL DEFAULT 0,
    done               SMALLINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL DEFAULT 0,
    UNIQUE (thread_id, receiver, kind)
);
