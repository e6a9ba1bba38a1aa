#!/bin/sh
# Short fuzz run of the realtime decoders (packet, Thrift, iris/message sync, acks, wrappers,
# state machine): no panic on any input.
# Usage: scripts/fuzz-realtime.sh [iterations] [seed]     (PROFILE=release for speed)
set -eu
cd "$(dirname "$0")/.."
exec cargo run --profile "${PROFILE:-dev}" --example fuzz_decoders -- "${1:-20000}" "${2:-$(date +%s)}"
