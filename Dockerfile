# newswatch: the monitor as a container. Installs exactly as the README does
# (pinned requirements.lock, then the package without dependencies) and runs as the
# non-root user newswatch (uid 10001). The code lives in /app; mount your config
# directory (settings.yaml, feeds.yaml, rules.yaml, channels.yaml) read-only at
# /etc/newswatch (NEWSWATCH_CONFIG), never over /app/config, which is code. State (the
# SQLite database, the local Prefect server's home) lives in the /var/lib/newswatch
# volume (NEWSWATCH_DATA_DIR). The same image runs `prefect server` and the process
# worker in compose.yaml.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSWATCH_CONFIG=/etc/newswatch \
    NEWSWATCH_DATA_DIR=/var/lib/newswatch \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /app

COPY requirements.lock ./
RUN python -m pip install -r requirements.lock

COPY pyproject.toml README.md prefect.yaml ./
COPY config/ config/
COPY extractors/ extractors/
COPY matching/ matching/
COPY store/ store/
COPY alerts/ alerts/
COPY flows/ flows/
COPY newswatch/ newswatch/
RUN python -m pip install --no-deps -e . \
    && useradd --create-home --uid 10001 --user-group newswatch \
    && mkdir -p /etc/newswatch /var/lib/newswatch \
    && chown newswatch:newswatch /var/lib/newswatch

USER 10001:10001
VOLUME ["/var/lib/newswatch"]

# Set PREFECT_API_URL to your Prefect server; without it a local server starts inside.
CMD ["newswatch", "serve"]
