# syntax=docker/dockerfile:1
# Build the operator wheel, then install only that wheel (no emulators, no dev tools)
# into a slim runtime image that runs as a numeric non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python -m pip install --no-cache-dir build \
 && python -m build --wheel --outdir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /dist/*.whl /tmp/
RUN python -m pip install --no-cache-dir /tmp/*.whl && rm -f /tmp/*.whl
USER 65532:65532
ENTRYPOINT ["batch-image-operator"]
