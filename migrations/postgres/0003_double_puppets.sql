-- Double puppeting: how the bridge acts as a real Matrix user. `access_token` is the user's
-- own token (`login-matrix`, a secret, never logged); NULL means the double-puppet appservice
-- token of `double_puppet.secrets` for the user's server.
CREATE TABLE double_puppets (
    mxid          TEXT PRIMARY KEY,
    access_token  TEXT,
    base_url      TEXT,
    created_at_ms BIGINT NOT NULL
);
