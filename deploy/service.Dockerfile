# syntax=docker/dockerfile:1
# The one image of every W2Meet Rust service; the service is a build
# argument naming its workspace member (and binary). Build context: the
# repository root
#   docker build -f deploy/service.Dockerfile --build-arg SERVICE=user-service -t w2meet/user-service .
# (docker-compose.yml does this for user-service, availability-service,
# suggestion-service and worker-service; the gateway is nginx/Dockerfile).
# Configuration: the environment variables read by $SERVICE/src/config.rs,
# defaults there; the image only sets where to listen and where to log.

# SERVICE has no default: the build fails at once without it. Each stage
# that uses it declares it, after the layers every service shares.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# Declared after the COPY so the sources layer is shared by every service.
ARG SERVICE
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,sharing=locked \
    : "${SERVICE:?build with --build-arg SERVICE=<workspace member>, e.g. user-service}" \
 && cargo build --release --locked -p "${SERVICE}" \
 && install -D -m 0755 "target/release/${SERVICE}" /out/w2meet-service

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 w2meet \
 && useradd --system --uid 10001 --gid w2meet --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin w2meet \
 && install -d -o w2meet -g w2meet /var/log/w2meet
# Declared after the apt-get layer, so that layer is shared by every service.
ARG SERVICE
LABEL org.opencontainers.image.title="w2meet/${SERVICE}"
# The binary goes to a fixed path, whatever SERVICE is: an exec-form
# ENTRYPOINT expands neither ARG nor ENV, and a fixed path keeps the exec form
# (no shell: the service is PID 1 and gets SIGTERM itself, and compose's
# `command:` arrives as its arguments, e.g. worker-consumer's ["consume"]).
# No service reads argv[0] (each names its log files itself), so the
# process shows as w2meet-service in `docker top`; the LABEL above says which.
COPY --from=build /out/w2meet-service /usr/local/bin/w2meet-service
COPY deploy/http-health /usr/local/bin/http-health
# CONSUMER_BIND_ADDR is worker-service's: `worker-service consume` (the
# worker-consumer service of docker-compose.yml) runs one queue consumer with
# /health on CONSUMER_BIND_ADDR, while `worker-service` (the job API) and the
# other services listen on BIND_ADDR; both on 8000, so the one HEALTHCHECK
# fits every image. The other services never read CONSUMER_BIND_ADDR:
# setting it in every image is harmless.
ENV BIND_ADDR=0.0.0.0:8000 \
    CONSUMER_BIND_ADDR=0.0.0.0:8000 \
    LOG_DIR=/var/log/w2meet
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["http-health", "8000", "/readyz"]
ENTRYPOINT ["/usr/local/bin/w2meet-service"]
