# syntax=docker/dockerfile:1
# The Prefect API server and UI. Its database is PREFECT_API_DATABASE_CONNECTION_URL
# (compose.yaml: PostgreSQL through asyncpg, which Prefect depends on); SQLite under PREFECT_HOME
# when unset. Build from the repository root:
#   docker build -f docker/server.Dockerfile -t mimicry-prefect-server .
FROM python:3.11-slim-bookworm

# Keep in step with the prefect the workers install (pyproject.toml allows >=3.4,<4).
ARG PREFECT_VERSION=3.9.1

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_HOME=/var/lib/prefect \
    PREFECT_SERVER_API_HOST=0.0.0.0 \
    PREFECT_SERVER_API_PORT=4200 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && pip install "prefect==${PREFECT_VERSION}" \
    && useradd --system --create-home --home-dir /home/prefect prefect \
    && mkdir -p "$PREFECT_HOME" \
    && chown prefect:prefect "$PREFECT_HOME"

USER prefect
EXPOSE 4200
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4200/api/health', timeout=4)"]
ENTRYPOINT ["tini", "--"]
CMD ["prefect", "server", "start"]
