# Shared by scripts/test and scripts/demo: a throwaway Synapse from PyPI and a bridge config
# pointing at it. Source it; it defines functions only.
#
#   synapse_venv CACHE VERSION           installs Synapse into CACHE/synapse-venv (cached)
#   free_port                            prints a free loopback port
#   bridge_config DIR HS_PORT AS_PORT NAME [extra sed args…]
#                                        writes DIR/config.yaml from example-config.yaml
#   synapse_config DIR HS_PORT NAME      writes DIR/homeserver.yaml (+ log config, signing key)
#                                        loading DIR/registration.yaml (and DIR/doublepuppet.yaml,
#                                        the double-puppet registration, when it exists)
#   synapse_start DIR HS_PORT            starts Synapse in the background (sets synapse_pid) and
#                                        waits until it is healthy

synapse_venv() {
    local cache=$1 version=$2
    SYNAPSE_VENV=$cache/synapse-venv
    if ! "$SYNAPSE_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('matrix-synapse') == '$version' else 1)" 2>/dev/null; then
        printf '\n== installing Synapse %s from PyPI into %s\n' "$version" "$SYNAPSE_VENV"
        rm -rf "$SYNAPSE_VENV"
        python3 -m venv "$SYNAPSE_VENV" || { echo "error: python3 -m venv failed: install python3-venv" >&2; return 1; }
        "$SYNAPSE_VENV/bin/pip" install -q --upgrade pip
        "$SYNAPSE_VENV/bin/pip" install -q "matrix-synapse==$version"
    fi
}

free_port() {
    python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}

bridge_config() {
    local dir=$1 hs_port=$2 as_port=$3 server_name=$4
    shift 4
    sed -e "s#address: http://localhost:8008#address: http://127.0.0.1:$hs_port#" \
        -e "s#domain: example.com#domain: $server_name#" \
        -e "s#address: http://localhost:29330#address: http://127.0.0.1:$as_port#" \
        -e "s#port: 29330#port: $as_port#" \
        -e "s#uri: sqlite:matrix-instagram.db#uri: sqlite:$dir/bridge.db#" \
        -e "s#example.com: user#$server_name: user#" \
        "$@" \
        example-config.yaml > "$dir/config.yaml"
}

synapse_config() {
    local dir=$1 hs_port=$2 server_name=$3
    local shared_secret
    shared_secret=$(python3 -c "import secrets; print(secrets.token_hex(16))")
    cat > "$dir/log.yaml" <<EOF
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(levelname)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: $dir/synapse.log
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
EOF
    cat > "$dir/homeserver.yaml" <<EOF
server_name: "$server_name"
pid_file: $dir/homeserver.pid
listeners:
  - port: $hs_port
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: $dir/homeserver.db
log_config: $dir/log.yaml
media_store_path: $dir/media
signing_key_path: $dir/signing.key
registration_shared_secret: "$shared_secret"
enable_registration: true
enable_registration_without_verification: true
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
app_service_config_files:
  - $dir/registration.yaml
$( [ -f "$dir/doublepuppet.yaml" ] && echo "  - $dir/doublepuppet.yaml" )
rc_message: {per_second: 1000, burst_count: 1000}
rc_registration: {per_second: 1000, burst_count: 1000}
rc_login:
  address: {per_second: 1000, burst_count: 1000}
  account: {per_second: 1000, burst_count: 1000}
  failed_attempts: {per_second: 1000, burst_count: 1000}
rc_joins:
  local: {per_second: 1000, burst_count: 1000}
  remote: {per_second: 1000, burst_count: 1000}
rc_invites:
  per_room: {per_second: 1000, burst_count: 1000}
  per_user: {per_second: 1000, burst_count: 1000}
rc_3pid_validation: {per_second: 1000, burst_count: 1000}
rc_room_creation: {per_second: 1000, burst_count: 1000}
rc_presence:
  per_user: {per_second: 1000, burst_count: 1000}
# end-to-bridge encryption: to-device events (MSC2409), device lists and one-time-key counts
# (MSC3202) in appservice transactions (the bot's device on its requests, `?device_id=`, and
# MSC4190 device creation need no flag on this Synapse)
experimental_features:
  msc2409_to_device_messages_enabled: true
  msc3202_transaction_extensions: true
EOF
    "$SYNAPSE_VENV/bin/python" -m synapse.app.homeserver -c "$dir/homeserver.yaml" --generate-keys >/dev/null
}

synapse_start() {
    local dir=$1 hs_port=$2 i
    "$SYNAPSE_VENV/bin/python" -m synapse.app.homeserver -c "$dir/homeserver.yaml" >"$dir/synapse.out" 2>&1 &
    synapse_pid=$!
    for i in $(seq 1 120); do
        if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$hs_port/health', timeout=1)" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$synapse_pid" 2>/dev/null; then
            tail -n 40 "$dir/synapse.out" "$dir/synapse.log" 2>/dev/null
            echo "error: Synapse exited during start-up" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "error: Synapse did not become healthy in 60 s" >&2
    return 1
}
