# syntax=docker/dockerfile:1
# rowgate: multi-stage build, slim non-root runtime.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p rowgate-server --bin rowgate \
    && strip target/release/rowgate

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system rowgate \
    && useradd --system --uid 10001 --gid rowgate --home-dir /var/lib/rowgate --create-home rowgate
COPY --from=build /src/target/release/rowgate /usr/local/bin/rowgate
USER 10001
WORKDIR /var/lib/rowgate
ENV ROWGATE_DATA_DIR=/var/lib/rowgate \
    ROWGATE_LISTEN=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["rowgate"]
CMD ["serve"]
