# syntax=docker/dockerfile:1
#
# WalkerDB image: walkerd and walkerctl, static binaries (CGO_ENABLED=0) on
# distroless/static, running as an unprivileged user.
#   docker build -t walkerdb --build-arg VERSION=$(git describe --tags --always) .
#   docker run -p 6379:6379 -v walkerdb:/data walkerdb
# docker-compose.yml beside this file runs a three-node cluster.

FROM golang:1.26-alpine AS build
WORKDIR /src
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ENV CGO_ENABLED=0
# The module and build caches outlive the build (BuildKit cache mounts).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    set -eu; \
    ldflags="-s -w -X github.com/walkerdb/walkerdb/internal/version.Version=${VERSION} -X github.com/walkerdb/walkerdb/internal/version.Commit=${COMMIT}"; \
    for b in walkerd walkerctl; do \
        go build -trimpath -ldflags "$ldflags" -o /out/bin/$b ./$b; \
    done; \
    mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bin/walkerd /out/bin/walkerctl /usr/local/bin/
# The data volume, owned by the image's user (nonroot, 65532).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
# walkerd's flags, as WALKERD_<FLAG> variables; set WALKERD_ADVERTISE and
# WALKERD_RAFT_ADVERTISE to an address the other nodes can dial when
# running a cluster (see docker-compose.yml).
ENV WALKERD_TCP=0.0.0.0:6379 \
    WALKERD_RAFT=0.0.0.0:16379 \
    WALKERD_DIR=/data/data \
    WALKERD_RAFTDIR=/data/raft \
    WALKERD_LOG_FORMAT=json
VOLUME /data
# RESP (clients), Raft (the other nodes).
EXPOSE 6379 16379
# Healthy once the node can serve: it answers PING (not LOADING) and
# knows a leader. With --requirepass, also set WALKERCTL_PASSWORD.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/walkerctl", "--addr", "127.0.0.1:6379", "wait-ready", "--timeout", "3s"]
ENTRYPOINT ["/usr/local/bin/walkerd"]
