# syntax=docker/dockerfile:1
#
# jira-auth as a hosted consent service: `jira-auth cloud serve` (see docs/serve.md).
#
# Documentation-grade: Docker was not available where this file was written, so it has not been
# built; the binary it builds is the one the tests run (`cargo build --release -p jira-auth`).
#
#   docker build -t jira-auth .
#   docker run --rm -p 8080:8080 -v jira-auth-data:/data \
#     -e JIRA_AUTH_PUBLIC_URL=https://jira-auth.example.com -e JIRA_AUTH_CLIENT_ID=... \
#     -e JIRA_AUTH_CLIENT_SECRET=... -e JIRA_AUTH_COOKIE_KEY=... \
#     -e JIRA_AUTH_PRESET=psoxy -e JIRA_AUTH_ALLOW_SITES=acme jira-auth

# --- build: one static musl binary. TLS is rustls on ring: no OpenSSL at build or run time. ---
FROM rust:1.89-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package jira-auth \
 && cp target/release/jira-auth /jira-auth \
 && mkdir -p /data

# --- runtime: distroless "static" (no libc, no shell, no package manager), non-root. ---
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /jira-auth /usr/local/bin/jira-auth
# The credential store. Mount a persistent volume here: it holds the refresh token.
COPY --from=build --chown=65532:65532 --chmod=700 /data /data
# 65532 is distroless's `nonroot` user; the store refuses files readable by others anyway.
USER 65532:65532
# `PORT` is what serverless container platforms set (they override this default); with no
# `--listen`/`JIRA_AUTH_LISTEN`, the service listens on 0.0.0.0:$PORT. Everything else comes
# from JIRA_AUTH_* variables (docs/serve.md lists them); secrets from variables or mounted files.
ENV JIRA_AUTH_CONFIG_DIR=/data \
    PORT=8080
VOLUME ["/data"]
EXPOSE 8080
# Liveness/readiness: GET /health-check (JSON). No HEALTHCHECK here: the image has no shell or
# curl; configure the platform's HTTP probe instead.
ENTRYPOINT ["/usr/local/bin/jira-auth", "cloud", "serve"]
