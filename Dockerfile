# One image for the Ray head, the Ray workers and optuna-dashboard (docker-compose.yml):
# Python 3.11, torch, then fnosweep with Ray, Optuna and psycopg. Every node of a Ray
# cluster must run the same Python and Ray: build them all from this file.
FROM python:3.11-slim

# cpu by default; the GPU worker builds with a CUDA variant (cu128, ...) published for the
# torch version that constraints.txt pins.
ARG TORCH_VARIANT=cpu

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    FNOSWEEP_HOME=/srv/fnosweep

WORKDIR /opt/fnosweep

# torch first, pinned by constraints.txt and taken from PyTorch's own index: a bare
# `torch` requirement from PyPI would pull a multi-GB CUDA build onto CPU nodes.
# Its own layer, so editing fnosweep does not download torch again.
COPY constraints.txt ./
RUN pip install -c constraints.txt --index-url "https://download.pytorch.org/whl/${TORCH_VARIANT}" torch

# fnosweep itself (not editable: the image is a release of this checkout).
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install -c constraints.txt . \
 && python -c "import fnosweep.cluster.entry, ray, torch, optuna_dashboard, psycopg"

# Not root: the driver, the trials and the dashboard need no privilege. The volume mounted
# at $FNOSWEEP_HOME (the driver's working directory) takes this owner when first created.
RUN useradd --create-home --uid 1000 fnosweep \
 && mkdir -p "$FNOSWEEP_HOME" \
 && chown fnosweep "$FNOSWEEP_HOME"
USER fnosweep
WORKDIR /srv/fnosweep

# 8265: Ray dashboard + Jobs API; 6379: Ray GCS; 8080: optuna-dashboard.
EXPOSE 8265 6379 8080
CMD ["ray", "start", "--help"]
