# mimicry on CPUs: the image of the Prefect process worker, the Dask scheduler and the CPU Dask
# workers (compose.yaml picks the command; the default is the Prefect worker). The checkout is
# /opt/mimicry, installed editable, and MIMICRY_PROJECT_DIR points at it, which is where the pull
# step of prefect.yaml enters. Build from the repository root:
#   docker build -f docker/cpu.Dockerfile -t mimicry-cpu .
# The base (a build argument: where Docker Hub cannot be reached, a stand-in built from
# Debian's packages, see scripts/rig_check.sh) and PyTorch's CPU build's index (PyPI's torch
# is the CUDA build: 3 GB of nvidia and triton packages a CPU worker never loads).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MIMICRY_PROJECT_DIR=/opt/mimicry \
    MIMICRY_HOME=/var/lib/mimicry \
    MIMICRY_KERNEL_CACHE=/var/cache/mimicry/kernels \
    PREFECT_HOME=/var/lib/prefect \
    PREFECT_LOCAL_STORAGE_PATH=/var/lib/prefect/storage

# tini reaps and forwards signals; procps gives ps to look at a running worker; gcc builds the
# cpu backend's compiled MT19937 prefilter for the worker's own CPU at first use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini procps gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mimicry
# Every version as constraints.txt pins it (the versions scripts/setup.sh installs); torch first,
# from its index, in a layer of its own (its dependencies come from PyPI with the project's).
COPY constraints.txt /opt/mimicry/constraints.txt
RUN pip install -c constraints.txt --no-deps --index-url "$TORCH_INDEX_URL" torch
COPY . /opt/mimicry
# A fixed uid in every mimicry image: the containers share the prefect-results volume.
RUN pip install -c constraints.txt -e /opt/mimicry \
    && groupadd --system --gid 10001 mimicry \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/mimicry mimicry \
    && mkdir -p "$MIMICRY_HOME" "$MIMICRY_KERNEL_CACHE" "$PREFECT_LOCAL_STORAGE_PATH" \
    && chown -R mimicry:mimicry "$MIMICRY_HOME" /var/cache/mimicry "$PREFECT_HOME"

USER mimicry
ENTRYPOINT ["tini", "--"]
CMD ["deployments/start-prefect-worker.sh"]
