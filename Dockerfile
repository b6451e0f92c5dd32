FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY sandbox ./sandbox
COPY runbooks ./runbooks
RUN pip install --no-cache-dir .
ENV PORT=3000 RUNBOOKS_DIR=/app/runbooks
EXPOSE 3000
HEALTHCHECK CMD python -c "import urllib.request,os;urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz')"
CMD ["incident-bot", "serve"]
