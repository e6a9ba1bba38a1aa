# A real SOCKS5 and HTTP CONNECT proxy for the proxy tests: pproxy from PyPI, installed into
# CACHE/pproxy-venv (cached). Source it; it defines one function.
#
#   ensure_pproxy CACHE   exports MI_PPROXY (the pproxy program to run) unless it is set

ensure_pproxy() {
    local venv=$1/pproxy-venv version=2.7.9
    if [ -n "${MI_PPROXY:-}" ]; then return 0; fi
    if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('pproxy') == '$version' else 1)" 2>/dev/null; then
        printf '\n== installing pproxy %s from PyPI into %s\n' "$version" "$venv"
        rm -rf "$venv"
        python3 -m venv "$venv" || { echo "error: python3 -m venv failed: install python3-venv" >&2; return 1; }
        "$venv/bin/pip" install -q "pproxy==$version"
    fi
    MI_PPROXY=$venv/bin/pproxy
    export MI_PPROXY
}
