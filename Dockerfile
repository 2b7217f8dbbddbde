# The reference API: built in a full Rust image, run from a small Debian one as a
# non-root user. Build context: the workspace root (`docker compose build`).

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p reference-api --bin reference-api \
 && cp target/release/reference-api /reference-api

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin edge \
 && mkdir /data && chown edge /data
COPY --from=build /reference-api /usr/local/bin/reference-api
USER edge
ENV EDGE_LISTEN=0.0.0.0:8080 \
    EDGE_DATA_DIR=/data \
    LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1
# Migrations run at start; SIGTERM drains in-flight requests.
ENTRYPOINT ["/usr/local/bin/reference-api"]
