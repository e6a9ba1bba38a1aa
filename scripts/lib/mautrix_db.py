"""Creates a mautrix-instagram 0.3.x database with the package's own schema migrations and
fills it, for the import tests. Run with the python of `mautrix_venv` (scripts/lib/mautrix.sh):

    python mautrix_db.py URL DESCRIPTION.json [--schema NAME]

URL is a mautrix database URL (`sqlite:///abs/path.db` or `postgres://…`); `--schema` makes
a PostgreSQL connection use that schema (it must exist). The description is JSON:

    {"users":     [{"mxid", "igpk", "notice_room", "seq_id", "snapshot_at_ms", "device_seed",
                    "authorization", "ds_user_id", "www_claim", "rur", "cookies": {name: value}}],
     "puppets":   [{"pk", "name", "username", "photo_id", "photo_mxc", "name_set", "avatar_set"}],
     "portals":   [{"thread_id", "receiver", "other_user_pk", "mxid", "name", "encrypted",
                    "name_set", "avatar_set"}],
     "messages":  [{"mxid", "mx_room", "item_id", "client_context", "receiver", "sender",
                    "ig_timestamp"}],
     "reactions": [{"mxid", "mx_room", "ig_item_id", "ig_receiver", "ig_sender", "reaction",
                    "mx_timestamp"}],
     "backfill":  [{"user_mxid", "portal_thread_id", "portal_receiver", "num_pages"}]}

Rows are written through mautrix-instagram's own table classes, so they have exactly the
shape that bridge writes (the user's `state` is its AndroidState JSON).
"""

import asyncio
import importlib.util
import json
import pathlib
import sys
import types


def load_models():
    # mauigpapi's package __init__ pulls in its HTTP and MQTT clients (and their
    # dependencies); the state classes need none of it, so the package is entered directly.
    spec = importlib.util.find_spec("mautrix_instagram")
    root = pathlib.Path(spec.origin).parent.parent
    stub = types.ModuleType("mauigpapi")
    stub.__path__ = [str(root / "mauigpapi")]
    sys.modules["mauigpapi"] = stub
    from mauigpapi.state import AndroidState
    from mauigpapi.state.cookies import Cookies
    from mautrix_instagram import db

    return AndroidState, Cookies, db


async def fill(url, description, schema):
    from mautrix.util.async_db import Database

    AndroidState, Cookies, db = load_models()
    db_args = {}
    if schema:
        db_args["server_settings"] = {"search_path": schema}
    database = Database.create(url, upgrade_table=db.upgrade_table, db_args=db_args)
    await database.start()
    db.init(database)
    try:
        for u in description.get("users", []):
            state = None
            if u.get("device_seed"):
                state = AndroidState()
                state.device.generate(u["device_seed"])
                state.session.authorization = u.get("authorization")
                state.session.ds_user_id = u.get("ds_user_id")
                state.session.ig_www_claim = u.get("www_claim")
                state.session.rur = u.get("rur")
                state.cookies = Cookies.deserialize(
                    {
                        name: {"value": value, "domain": ".instagram.com", "path": "/"}
                        for name, value in u.get("cookies", {}).items()
                    }
                )
            await db.User(
                mxid=u["mxid"],
                igpk=u.get("igpk"),
                state=state,
                notice_room=u.get("notice_room"),
                seq_id=u.get("seq_id"),
                snapshot_at_ms=u.get("snapshot_at_ms"),
                oldest_cursor=None,
                total_backfilled_portals=None,
                thread_sync_completed=False,
            ).insert()
        for p in description.get("puppets", []):
            await db.Puppet(
                pk=p["pk"],
                name=p.get("name"),
                username=p.get("username"),
                photo_id=p.get("photo_id"),
                photo_mxc=p.get("photo_mxc"),
                name_set=p.get("name_set", False),
                avatar_set=p.get("avatar_set", False),
                contact_info_set=False,
                is_registered=True,
                custom_mxid=None,
                access_token=None,
                next_batch=None,
                base_url=None,
            ).insert()
        for p in description.get("portals", []):
            await db.Portal(
                thread_id=p["thread_id"],
                receiver=p["receiver"],
                other_user_pk=p.get("other_user_pk"),
                mxid=p.get("mxid"),
                name=p.get("name"),
                avatar_url=p.get("avatar_url"),
                encrypted=p.get("encrypted", False),
                name_set=p.get("name_set", False),
                avatar_set=p.get("avatar_set", False),
                relay_user_id=None,
                first_event_id=None,
                next_batch_id=None,
                historical_base_insertion_event_id=None,
                cursor=None,
                thread_image_id=None,
            ).insert()
        for m in description.get("messages", []):
            await db.Message(
                mxid=m["mxid"],
                mx_room=m["mx_room"],
                item_id=m["item_id"],
                client_context=m.get("client_context"),
                receiver=m["receiver"],
                sender=m["sender"],
                ig_timestamp=m.get("ig_timestamp"),
            ).insert()
        for r in description.get("reactions", []):
            await db.Reaction(
                mxid=r["mxid"],
                mx_room=r["mx_room"],
                ig_item_id=r["ig_item_id"],
                ig_receiver=r["ig_receiver"],
                ig_sender=r["ig_sender"],
                reaction=r["reaction"],
                mx_timestamp=r.get("mx_timestamp"),
            ).insert()
        for b in description.get("backfill", []):
            await db.Backfill.new(
                b["user_mxid"], 0, b["portal_thread_id"], b["portal_receiver"], b["num_pages"]
            ).insert()
        version = await database.fetchval("SELECT version FROM version")
        print(f"mautrix-instagram database at schema v{version}")
    finally:
        await database.stop()


def main():
    args = sys.argv[1:]
    schema = None
    if "--schema" in args:
        i = args.index("--schema")
        schema = args[i + 1]
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    url, path = args
    with open(path) as f:
        description = json.load(f)
    asyncio.run(fill(url, description, schema))


if __name__ == "__main__":
    main()
