# syntax=docker/dockerfile:1
# Build the operator wheel from operator/ + pyproject.toml + README.md only, then install
# only that wheel (no emulators, no tests, no dev tools) into a slim runtime image that
# runs as a numeric non-root user (65532, the chart's runAsUser) and works with a
# read-only root filesystem (nothing is written outside /tmp).
#
# Pinned: the base image by digest, every Python package by requirements.lock (versions
# and hashes, the same lock `make install` and CI use). The build stage downloads the
# locked files, hash-checked, and builds the operator's wheel plus the wheels of exactly
# the dependencies it declares from those files alone (--no-index): nothing unlocked
# can come in, and the dev tools in the lock stay out of the image.
# The digest (python:3.11-slim) comes from public sources, not checked against the
# registry when pinned; refresh it with `docker buildx imagetools inspect python:3.11-slim`.
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7 AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY operator ./operator
RUN python -m pip download --require-hashes --no-deps --dest /locked -r requirements.lock \
 && python -m pip wheel --no-index --find-links=/locked --wheel-dir /dist .

FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
LABEL org.opencontainers.image.title="batch-image-operator" \
      org.opencontainers.image.description="Kubernetes operator for Azure Batch custom-image pools" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY --from=build /dist/*.whl /tmp/
RUN python -m pip install --no-index /tmp/*.whl && rm -f /tmp/*.whl
USER 65532:65532
# metrics, health (GET /healthz)
EXPOSE 8080 8081
ENTRYPOINT ["batch-image-operator"]
