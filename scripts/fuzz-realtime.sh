#!/bin/sh
# Short fuzz run of the realtime decoders; kept for the README's usage line.
# Usage: scripts/fuzz-realtime.sh [iterations] [seed]     (same as scripts/fuzz realtime)
exec "$(dirname "$0")/fuzz" realtime "$@"
