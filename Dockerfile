# syntax=docker/dockerfile:1
# Build the operator wheel from operator/ + pyproject.toml + README.md only, then install
# only that wheel (no emulators, no tests, no dev tools) into a slim runtime image that
# runs as a numeric non-root user (65532, the chart's runAsUser) and works with a
# read-only root filesystem (nothing is written outside /tmp).
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python -m pip wheel --no-deps --wheel-dir /dist .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="batch-image-operator" \
      org.opencontainers.image.description="Kubernetes operator for Azure Batch custom-image pools" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY --from=build /dist/*.whl /tmp/
RUN python -m pip install /tmp/*.whl && rm -f /tmp/*.whl
USER 65532:65532
# metrics, health (GET /healthz)
EXPOSE 8080 8081
ENTRYPOINT ["batch-image-operator"]
