# The Prefect API server and UI. Its database is PREFECT_API_DATABASE_CONNECTION_URL
# (compose.yaml: PostgreSQL through asyncpg, which Prefect depends on); SQLite under PREFECT_HOME
# when unset. Build from the repository root:
#   docker build -f docker/server.Dockerfile -t mimicry-prefect-server .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_HOME=/var/lib/prefect \
    PREFECT_SERVER_API_HOST=0.0.0.0 \
    PREFECT_SERVER_API_PORT=4200 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_UI_STATIC_DIRECTORY=/var/lib/prefect/ui

# The same prefect the workers install (constraints.txt). The UI's static files are written at
# start under PREFECT_UI_STATIC_DIRECTORY (with the API's address in them): a folder the server's
# user owns (site-packages is not, and the UI answered 404).
COPY constraints.txt /tmp/constraints.txt
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && pip install -c /tmp/constraints.txt prefect \
    && useradd --system --create-home --home-dir /home/prefect prefect \
    && mkdir -p "$PREFECT_HOME" "$PREFECT_UI_STATIC_DIRECTORY" \
    && chown -R prefect:prefect "$PREFECT_HOME"

USER prefect
EXPOSE 4200
COPY docker/healthcheck.py /usr/local/lib/mimicry-healthcheck.py
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
    CMD ["python", "/usr/local/lib/mimicry-healthcheck.py"]
ENTRYPOINT ["tini", "--"]
CMD ["prefect", "server", "start"]
