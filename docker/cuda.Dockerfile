# A Dask worker per NVIDIA GPU: deployments/start-dask-workers.sh finds the GPUs with
# `nvidia-smi -L` (the NVIDIA container toolkit mounts it: run with `--gpus all`, or the
# device reservation in compose.yaml) and pins one worker to each with CUDA_VISIBLE_DEVICES
# and --resources GPU=1. The devel image carries NVVM and libdevice, which a JIT-compiled CUDA
# kernel needs at run time. Build from the repository root:
#   docker build -f docker/cuda.Dockerfile -t mimicry-cuda .
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu24.04
FROM ${CUDA_IMAGE}
# PyTorch's build for the base's CUDA (pick the index that matches CUDA_IMAGE).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    MIMICRY_PROJECT_DIR=/opt/mimicry \
    MIMICRY_HOME=/var/lib/mimicry \
    MIMICRY_KERNEL_CACHE=/var/cache/mimicry/kernels \
    PREFECT_HOME=/var/lib/prefect \
    PREFECT_LOCAL_STORAGE_PATH=/var/lib/prefect/storage

# Ubuntu 24.04's Python is 3.12 (mimicry needs >= 3.11).
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv tini procps gcc g++ libc6-dev \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv "$VIRTUAL_ENV"

WORKDIR /opt/mimicry
COPY constraints.txt /opt/mimicry/constraints.txt
RUN pip install -c constraints.txt --no-deps --index-url "$TORCH_INDEX_URL" torch
COPY . /opt/mimicry
RUN pip install -c constraints.txt -e "/opt/mimicry[cuda12]" \
    && groupadd --system --gid 10001 mimicry \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/mimicry mimicry \
    && mkdir -p "$MIMICRY_HOME" "$MIMICRY_KERNEL_CACHE" "$PREFECT_LOCAL_STORAGE_PATH" \
    && chown -R mimicry:mimicry "$MIMICRY_HOME" /var/cache/mimicry "$PREFECT_HOME"

USER mimicry
ENTRYPOINT ["tini", "--"]
CMD ["deployments/start-dask-workers.sh"]
