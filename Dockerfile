# syntax=docker/dockerfile:1.7
# The one image recipe of TDS. The five images (ingest, processor, bulk-sync, zoho-proxy and the
# Zoho simulator) differ only in the package they install and run, so each is this file built with
# its own build args; skaffold.yaml lists them per image (buildArgs). Build from the repository
# root: the uv workspace and its single uv.lock live there.
#   docker build -t tds-ingest:dev \
#     --build-arg PACKAGE=ingest --build-arg PACKAGE_DIR=services/ingest --build-arg MODULE=ingest \
#     --build-arg PORT=8001 --build-arg SETTINGS_PREFIX=INGEST_ \
#     --build-arg "DESCRIPTION=Zoho webhooks in, durable in Kafka" \
#     --build-arg "DEV_PACKAGES=ingest tds_common" .
# Build args:
#   PACKAGE          the workspace member to install (its distribution name), e.g. bulk-sync
#   PACKAGE_DIR      its directory, e.g. services/bulk-sync
#   MODULE           its import name; the container runs `python -m MODULE`
#   PORT             the port its HTTP server listens on (EXPOSE; the chart probes it)
#   SETTINGS_PREFIX  its settings' environment prefix: PREFIX + HOST is set to 0.0.0.0
#   DESCRIPTION      the OCI description label
#   DEV_PACKAGES     ("dev" stage only) the installed packages skaffold syncs and watchfiles watches
#   VERSION, REVISION  OCI version and revision labels; REVISION (the commit) is also TDS_GIT_SHA,
#                      which the services' <prefix>_build_info metric reports
# Stages: "builder" resolves the locked dependencies into /app/.venv with uv (a layer that
# changes only with uv.lock), then installs the workspace packages non-editable; "runtime" is a
# clean slim image with that venv, owned by root and run by uid 10001, so the app cannot modify
# itself and needs no writable root filesystem (Kubernetes mounts an emptyDir on /tmp);
# "dev" (skaffold dev only) adds file sync and reload. The last stage, "runtime", is the default.

# python:3.11.14-slim-trixie, pinned by digest (the multi-arch index of the official image).
ARG PYTHON_IMAGE=python:3.11.14-slim-trixie@sha256:193fdd0bbcb3d2ae612bd6cc3548d2f7c78d65b549fcaa8af75624c47474444d

FROM ${PYTHON_IMAGE} AS builder
ARG PACKAGE
ARG PACKAGE_DIR
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# `make images` sets it when the machine reaches PyPI through a proxy with its own CA: uv then
# trusts the system store, where that build mounts the machine's CA bundle (never baked in).
ARG UV_NATIVE_TLS
# Without the build args the COPYs below would quietly take the workspace root instead.
RUN test -n "$PACKAGE" && test -n "$PACKAGE_DIR" \
    || { echo "build args PACKAGE and PACKAGE_DIR are required (see skaffold.yaml)" >&2; exit 1; }
# The same uv as the Makefile's UV_VERSION, from PyPI.
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
# 1) Third-party dependencies only: this layer is cached until uv.lock or a manifest changes.
# Every image also gets the operators' command line, `tds` (tools/tds-cli), so `kubectl exec`
# into any pod can run it; it depends on services/common (tds_common), so every image has that.
COPY pyproject.toml uv.lock ./
COPY services/common/pyproject.toml services/common/pyproject.toml
COPY tools/tds-cli/pyproject.toml tools/tds-cli/pyproject.toml
COPY ${PACKAGE_DIR}/pyproject.toml ${PACKAGE_DIR}/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package ${PACKAGE} --package tds-cli
# 2) Our sources, installed into the venv non-editable (the runtime stage has no /src).
COPY services/common/src services/common/src
COPY tools/tds-cli/src tools/tds-cli/src
COPY ${PACKAGE_DIR}/src ${PACKAGE_DIR}/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package ${PACKAGE} --package tds-cli

FROM ${PYTHON_IMAGE} AS base
ARG PACKAGE
ARG MODULE
ARG PORT
ARG SETTINGS_PREFIX
ARG DESCRIPTION
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tds-${PACKAGE}" \
      org.opencontainers.image.description="${DESCRIPTION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="TDS" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.14-slim-trixie"
RUN groupadd --system --gid 10001 tds \
    && useradd --system --uid 10001 --gid tds --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin tds
COPY --from=builder /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVICE_MODULE=${MODULE} \
    ${SETTINGS_PREFIX}HOST=0.0.0.0 \
    TDS_GIT_SHA=${REVISION}
WORKDIR /app
USER 10001:10001
EXPOSE ${PORT}
# On SIGTERM uvicorn drains in-flight requests, then runs the lifespan shutdown (the processor
# finishes its batch and commits offsets, bulk-sync checkpoints; kopf stops its handlers).
STOPSIGNAL SIGTERM
# The shell only names the module (CMD does not expand build args) and execs: python is PID 1
# and receives the SIGTERM itself.
CMD ["sh", "-c", "exec python -m \"$SERVICE_MODULE\""]

# Development image for `skaffold dev` (target "dev"): skaffold's file sync copies changed sources
# over the installed packages, which the app user may write here, and watchfiles restarts the
# process when they change. It works in site-packages, so DEV_PACKAGES names the directories
# (the app itself reads no files relative to its working directory). Never deployed outside the
# dev profile.
FROM base AS dev
ARG DEV_PACKAGES
COPY --from=builder /usr/local/bin/uv /usr/local/bin/uv
USER 0:0
WORKDIR /app/.venv/lib/python3.11/site-packages
# DEV_PACKAGES is a list of package directories: split on purpose.
# hadolint ignore=SC2086
RUN uv pip install --no-cache --python /app/.venv/bin/python watchfiles==1.3.0 \
    && chown -R 10001:10001 ${DEV_PACKAGES}
ENV DEV_PACKAGES=${DEV_PACKAGES}
USER 10001:10001
CMD ["sh", "-c", "exec watchfiles --filter python \"python -m $SERVICE_MODULE\" $DEV_PACKAGES"]

# The production image (the default target).
FROM base AS runtime
