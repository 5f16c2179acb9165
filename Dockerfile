# syntax=docker/dockerfile:1
# tenantchat: multi-stage build. `docker compose up --build` uses it (see
# docker-compose.yml); on its own:
#   docker build -t tenantchat . && docker run -e DATABASE_URL=... -p 8000:8000 tenantchat

# ---- build ----------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
# Migrations (sqlx::migrate!) and templates (askama) are compiled into the binary.
COPY migrations ./migrations
COPY templates ./templates
RUN cargo build --release --locked --bin tenantchat \
    && install -D -m 0755 target/release/tenantchat /out/tenantchat

# ---- runtime --------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tenantchat \
    && useradd --system --uid 10001 --gid tenantchat --home-dir /app --shell /usr/sbin/nologin tenantchat \
    && mkdir -p /app/media \
    && chown tenantchat:tenantchat /app/media
WORKDIR /app
COPY --from=builder /out/tenantchat /usr/local/bin/tenantchat
# The widget, its translations and the pages' CSS, served at /static/ (STATIC_ROOT).
COPY static ./static
ENV BIND=0.0.0.0:8000 \
    MEDIA_ROOT=/app/media \
    RUST_LOG=info
USER tenantchat
VOLUME ["/app/media"]
EXPOSE 8000
CMD ["tenantchat", "serve"]
