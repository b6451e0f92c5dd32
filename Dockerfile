# One image for every process: `serve` (HTTP), `socket` (Socket Mode) and `worker`.
# Base and dependencies are pinned: the Python the tests run on, and requirements.lock.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 WORKER_PORT=8081 RUNBOOKS_DIR=/app/runbooks

RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid bot --home-dir /app --shell /usr/sbin/nologin bot

WORKDIR /app
# requirements.lock includes the `fast` extra (uvloop): every process runs on uvloop
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY sandbox ./sandbox
COPY runbooks ./runbooks
RUN pip install --no-cache-dir --no-deps . && chown -R bot:bot /app

USER bot:bot
EXPOSE 3000 8081
# /healthz of this process: Redis reachable, Slack token valid at start, scheduler running
# (the worker answers on WORKER_PORT: docker-compose.yml runs `healthcheck --worker` there)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["incident-bot", "healthcheck"]
CMD ["incident-bot", "serve"]
