# A Dask worker per AMD GPU: deployments/start-dask-workers.sh finds the GPUs with
# `rocm-smi --showid` and pins one worker to each with HIP_VISIBLE_DEVICES and
# --resources GPU=1. Run with the GPU devices passed in (compose.yaml's rocm profile does):
#   docker run --device /dev/kfd --device /dev/dri --group-add video --group-add render ...
# Build from the repository root:
#   docker build -f docker/rocm.Dockerfile -t mimicry-rocm .
ARG ROCM_IMAGE=rocm/dev-ubuntu-24.04:6.4
FROM ${ROCM_IMAGE}
# PyTorch's build for the base's ROCm (pick the index that matches ROCM_IMAGE).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/rocm6.4

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/opt/rocm/bin:$PATH \
    MIMICRY_PROJECT_DIR=/opt/mimicry \
    MIMICRY_HOME=/var/lib/mimicry \
    MIMICRY_KERNEL_CACHE=/var/cache/mimicry/kernels \
    PREFECT_HOME=/var/lib/prefect \
    PREFECT_LOCAL_STORAGE_PATH=/var/lib/prefect/storage

# Ubuntu 24.04's Python is 3.12 (mimicry needs >= 3.11).
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev tini procps gcc g++ libc6-dev \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv "$VIRTUAL_ENV"

WORKDIR /opt/mimicry
COPY constraints.txt /opt/mimicry/constraints.txt
RUN pip install -c constraints.txt --no-deps --index-url "$TORCH_INDEX_URL" torch
COPY . /opt/mimicry
# CuPy builds for ROCm from source (its install guide): HIP, and the cards' gfx targets (RX 6600:
# gfx1032; override with --build-arg HCC_AMDGPU_TARGET=...).
ARG HCC_AMDGPU_TARGET=gfx1032,gfx1030,gfx90a
ENV CUPY_INSTALL_USE_HIP=1 ROCM_HOME=/opt/rocm HCC_AMDGPU_TARGET=${HCC_AMDGPU_TARGET}
# The GPU device files belong to the video and render groups: the user joins both (compose.yaml
# also adds them by name, as their ids on the host may differ).
RUN pip install -c constraints.txt -e "/opt/mimicry[rocm]" \
    && groupadd --system --gid 10001 mimicry \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/mimicry mimicry \
    && (getent group render >/dev/null || groupadd --system render) \
    && usermod -aG video,render mimicry \
    && mkdir -p "$MIMICRY_HOME" "$MIMICRY_KERNEL_CACHE" "$PREFECT_LOCAL_STORAGE_PATH" \
    && chown -R mimicry:mimicry "$MIMICRY_HOME" /var/cache/mimicry "$PREFECT_HOME"

USER mimicry
ENTRYPOINT ["tini", "--"]
CMD ["deployments/start-dask-workers.sh"]
