# One image for every role: `inbox web`, `inbox worker`, `inbox migrate`, `inbox temporal-setup`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p inbox api web workflows activities \
    && touch inbox/__init__.py api/__init__.py web/__init__.py workflows/__init__.py \
       activities/__init__.py \
    && pip install . \
    && pip uninstall -y durable-inbox

COPY inbox ./inbox
COPY api ./api
COPY web ./web
COPY workflows ./workflows
COPY activities ./activities
COPY rules ./rules
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app inbox \
    && mkdir -p /data && chown inbox /data

USER inbox
ENV INBOX_ENVIRONMENT=production \
    INBOX_DATA_DIR=/data \
    INBOX_RULES_DIR=/app/rules \
    INBOX_WEB_HOST=0.0.0.0 \
    INBOX_WEB_PORT=8000
EXPOSE 8000

CMD ["inbox", "web"]
