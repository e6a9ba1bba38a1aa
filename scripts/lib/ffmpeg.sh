# An ffmpeg for the media tests (and scripts/demo) when the machine has none: the static build
# that the imageio-ffmpeg wheel on PyPI carries, installed into CACHE/ffmpeg-venv (cached).
# Source it; it defines one function.
#
#   ensure_ffmpeg CACHE   exports MATRIX_INSTAGRAM_FFMPEG (the ffmpeg to use) unless it is set

ensure_ffmpeg() {
    local venv=$1/ffmpeg-venv version=0.8.1
    if [ -n "${MATRIX_INSTAGRAM_FFMPEG:-}" ]; then return 0; fi
    if command -v ffmpeg >/dev/null 2>&1; then
        MATRIX_INSTAGRAM_FFMPEG=$(command -v ffmpeg)
        export MATRIX_INSTAGRAM_FFMPEG
        return 0
    fi
    if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('imageio-ffmpeg') == '$version' else 1)" 2>/dev/null; then
        printf '\n== installing ffmpeg (imageio-ffmpeg %s from PyPI) into %s\n' "$version" "$venv"
        rm -rf "$venv"
        python3 -m venv "$venv" || { echo "error: python3 -m venv failed: install python3-venv" >&2; return 1; }
        "$venv/bin/pip" install -q "imageio-ffmpeg==$version"
    fi
    MATRIX_INSTAGRAM_FFMPEG=$("$venv/bin/python" -c "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())")
    export MATRIX_INSTAGRAM_FFMPEG
}
