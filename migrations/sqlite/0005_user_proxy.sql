-- Each user's proxy for their Instagram traffic (`proxy` command): NULL follows the config's
-- default (instagram.proxy), '' connects directly, anything else is the proxy URL (with its
-- password, if any).
ALTER TABLE users ADD COLUMN proxy TEXT;
