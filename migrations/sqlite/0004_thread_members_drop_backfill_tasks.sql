-- The people of each thread as last seen (for mentions both ways), so that a conversation's
-- worker knows them after a restart without asking Instagram again. Replaced whole whenever
-- the bridge reads the thread.
CREATE TABLE thread_members (
    thread_id    TEXT NOT NULL,
    pk           BIGINT NOT NULL,
    username     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    mxid         TEXT NOT NULL,
    PRIMARY KEY (thread_id, pk)
);

-- From the first schema, never read or written: history and catch-up are SyncThread inbox
-- rows, ordered with everything else of their thread.
DROP TABLE backfill_tasks;
