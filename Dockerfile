# Multi-stage build: a static-ish release binary on a small Debian runtime.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# The whole repository (see .dockerignore): Cargo.toml declares the test and example targets,
# and cargo wants them present even to build one binary.
COPY . .
RUN cargo build --release --locked --bin matrix-instagram

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 1337 --home-dir /data bridge \
    && mkdir -p /data && chown bridge /data
COPY --from=build /src/target/release/matrix-instagram /usr/bin/matrix-instagram
COPY --from=build /src/example-config.yaml /opt/matrix-instagram/example-config.yaml
USER bridge
WORKDIR /data
VOLUME /data
ENV MATRIX_INSTAGRAM_CONFIG=/data/config.yaml
EXPOSE 29330
# The image has no curl: the binary asks its own /_matrix/mau/live (the port comes from the
# config and MATRIX_INSTAGRAM__* overrides, as for `run`). Kubernetes can probe
# /_matrix/mau/live and /_matrix/mau/ready over HTTP directly.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["matrix-instagram", "healthcheck"]
# First run: copy the example, edit it, then `generate-registration`.
CMD ["matrix-instagram", "run"]
