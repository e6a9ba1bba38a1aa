-- Several Instagram accounts per Matrix user. A login (one Instagram account, keyed by its
-- pk, which is also its "login id") holds what was per user: the session, the realtime
-- cursor and the connection state. `users` keeps what belongs to the Matrix user: the
-- management room, the proxy choice (for every login of the user) and the preferred login.
CREATE TABLE logins (
    ig_pk            BIGINT PRIMARY KEY,
    mxid             TEXT NOT NULL,
    ig_username      TEXT,
    session          TEXT,
    seq_id           BIGINT,
    snapshot_at_ms   BIGINT,
    connection_state TEXT NOT NULL DEFAULT 'logged_out',
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL
);
CREATE INDEX logins_mxid ON logins (mxid);

-- Today's logins. Two Matrix users logged in to the same Instagram account (which nothing
-- prevented) keep the first one's; the other's rows are left as they were.
INSERT INTO logins (ig_pk, mxid, ig_username, session, seq_id, snapshot_at_ms,
                    connection_state, created_at_ms, updated_at_ms)
SELECT ig_pk, mxid, ig_username, session, seq_id, snapshot_at_ms, connection_state,
       created_at_ms, updated_at_ms
FROM users
WHERE ig_pk IS NOT NULL
  AND mxid = (SELECT MIN(u2.mxid) FROM users u2 WHERE u2.ig_pk = users.ig_pk);

ALTER TABLE users ADD COLUMN preferred_login BIGINT;
UPDATE users SET preferred_login = (SELECT l.ig_pk FROM logins l WHERE l.mxid = users.mxid);

-- A DM portal's receiver was the Matrix user; it is now the login. Groups ('') stay shared.
-- Instagram-sourced inbox rows and dead letters name the login that read them the same way;
-- Matrix-sourced ones name the event's sender, which stays.
UPDATE portals SET receiver = (SELECT CAST(l.ig_pk AS TEXT) FROM logins l WHERE l.mxid = portals.receiver)
WHERE receiver IN (SELECT mxid FROM logins);
UPDATE messages SET receiver = (SELECT CAST(l.ig_pk AS TEXT) FROM logins l WHERE l.mxid = messages.receiver)
WHERE receiver IN (SELECT mxid FROM logins);
UPDATE reactions SET receiver = (SELECT CAST(l.ig_pk AS TEXT) FROM logins l WHERE l.mxid = reactions.receiver)
WHERE receiver IN (SELECT mxid FROM logins);
UPDATE inbox SET receiver = (SELECT CAST(l.ig_pk AS TEXT) FROM logins l WHERE l.mxid = inbox.receiver)
WHERE source = 'instagram' AND receiver IN (SELECT mxid FROM logins);
UPDATE dead_letters SET receiver = (SELECT CAST(l.ig_pk AS TEXT) FROM logins l WHERE l.mxid = dead_letters.receiver)
WHERE source = 'instagram' AND receiver IN (SELECT mxid FROM logins);

ALTER TABLE users DROP COLUMN ig_pk;
ALTER TABLE users DROP COLUMN ig_username;
ALTER TABLE users DROP COLUMN session;
ALTER TABLE users DROP COLUMN seq_id;
ALTER TABLE users DROP COLUMN snapshot_at_ms;
ALTER TABLE users DROP COLUMN connection_state;
