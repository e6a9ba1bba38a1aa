# mautrix-instagram (the Python bridge this one can take over from, PyPI `mautrix-instagram`)
# in a test virtualenv, to create real databases of it for the import tests. Source it; it
# defines functions only.
#
#   mautrix_venv CACHE    installs mautrix-instagram 0.3.1 into CACHE/mautrix-instagram-venv
#                         (cached) with only what creating and filling its database needs, and
#                         exports MI_MAUTRIX_PYTHON (its python)
#
# scripts/lib/mautrix_db.py then creates a database through mautrix-instagram's own schema
# migrations and fills it from a JSON description (see that file).

MAUTRIX_INSTAGRAM_VERSION=0.3.1

mautrix_venv() {
    local cache=$1
    local venv=$cache/mautrix-instagram-venv
    if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('mautrix-instagram') == '$MAUTRIX_INSTAGRAM_VERSION' else 1)" 2>/dev/null; then
        printf '\n== installing mautrix-instagram %s from PyPI into %s\n' "$MAUTRIX_INSTAGRAM_VERSION" "$venv"
        rm -rf "$venv"
        python3 -m venv "$venv" || { echo "error: python3 -m venv failed: install python3-venv" >&2; return 1; }
        "$venv/bin/pip" install -q --upgrade pip
        # Its database layer only: mautrix (async_db, types), the two database drivers it
        # supports, and the package itself without the rest of its dependencies (MQTT,
        # crypto, image conversion), which creating a database does not touch.
        "$venv/bin/pip" install -q "mautrix>=0.20.2,<0.21" "asyncpg>=0.20,<0.29" "aiosqlite>=0.16,<0.20"
        "$venv/bin/pip" install -q --no-deps "mautrix-instagram==$MAUTRIX_INSTAGRAM_VERSION"
    fi
    export MI_MAUTRIX_PYTHON=$venv/bin/python
}
