# Pomona: python:3.11-slim, locked dependencies (the server extra) with the PostgreSQL and MariaDB/MySQL drivers,
# a non-root user, data in the /data volume.
#   docker build -t pomona .
#   docker run -d -p 127.0.0.1:8000:8000 -v pomona-data:/data pomona
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/pomona

RUN pip install --no-cache-dir uv==0.13.8

WORKDIR /src

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --extra server --extra postgres --extra mysql --no-install-project --no-cache

# Then Pomona itself, installed as a package (not editable), so /src is not needed at run time.
COPY README.md LICENSE ./
COPY src ./src
RUN uv sync --locked --no-dev --extra server --extra postgres --extra mysql --no-editable --no-cache

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home pomona \
    && mkdir -p /data \
    && chown pomona:pomona /data

ENV PATH=/opt/pomona/bin:$PATH \
    POMONA_HOST=0.0.0.0 \
    POMONA_PORT=8000 \
    POMONA_DATA_DIR=/data

USER pomona
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('POMONA_PORT', '8000'), timeout=4)"]

CMD ["pomona", "serve"]
