# syntax=docker/dockerfile:1
# Chợ Số: one image for every process (web, live, worker, beat, migrate); compose.yaml picks the
# command, the Procfile lists the same ones. Build: docker compose build (README.md, "Production").
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- static vendor files from npm (package-lock.json): the 360° viewer of exhibition booths ---
FROM node:22-bookworm-slim AS npm
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- the locked Python environment (uv.lock), without the dev group --------------------------
FROM ${PYTHON_IMAGE} AS python-deps
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11

# --- the runtime image -----------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# WeasyPrint (invoices, standees): Pango, and HarfBuzz's subsetter (8× faster PDFs); DejaVu
# covers every Vietnamese diacritic in sans, bold, oblique and serif.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-dejavu-core fonts-dejavu-extra \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 choso \
 && useradd --system --uid 10001 --gid choso --home-dir /var/lib/choso --no-create-home choso \
 && mkdir -p /var/lib/choso/media \
 && chown -R choso:choso /var/lib/choso
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    DEBUG=false \
    CHOSO_VAR_DIR=/var/lib/choso \
    MEDIA_ROOT=/var/lib/choso/media \
    STATIC_ROOT=/app/staticfiles
COPY --from=python-deps /opt/venv /opt/venv
WORKDIR /app
COPY . .
COPY --from=npm /src/node_modules/pannellum/build /app/node_modules/pannellum/build
# Static files are collected (hashed names + gzip, WhiteNoise's manifest) into the image. Settings
# refuse DEBUG=false without the production secrets, so this one step gets throw-away values;
# the running containers get the real ones from compose.yaml / .env.
RUN SECRET_KEY=build-only BANKNOTIFY_API_KEY=build-only BANKNOTIFY_WEBHOOK_SECRET=build-only \
    EWALLET_API_KEY=build-only EWALLET_WEBHOOK_SECRET=build-only \
    TAXGATEWAY_API_KEY=build-only EINVOICE_KEY_SECRET=build-only \
    python manage.py collectstatic --noinput -v0 \
 && rm -rf /app/node_modules \
 && python -m compileall -q -j 0 /app
# The code (root's) is read-only to the processes; they write only under /var/lib/choso.
USER choso
EXPOSE 8000 8001
CMD ["gunicorn", "config.wsgi", "-c", "deploy/gunicorn_web.py"]
