# Multi-stage build: a static-ish release binary on a small Debian runtime.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The fuzz examples are declared in Cargo.toml (they need the `fuzzing` feature).
COPY examples ./examples
COPY migrations ./migrations
COPY example-config.yaml ./
# Integration-test targets are declared in Cargo.toml; give cargo empty stand-ins.
RUN mkdir -p tests/it tests/e2e && touch tests/it/main.rs tests/e2e/main.rs \
    && cargo build --release --locked --bin matrix-instagram

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
# First run: copy the example, edit it, then `generate-registration`.
CMD ["matrix-instagram", "run"]
