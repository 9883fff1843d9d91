# Production-like image: one image, four roles (web, worker, beat, consumer)
# chosen by the command in docker-compose.yml.

# The pages' JS/CSS libraries from the npm registry (package-lock.json), copied
# into the image and collected as static files: nothing from a CDN at run time.
FROM node:20-bookworm-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_ENV=production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils libproj-dev gdal-bin libgdal32 libgeos-c1v5 gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install --no-cache-dir -r /tmp/requirements.txt
COPY . .
COPY --from=frontend /app/node_modules ./node_modules
RUN export SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=') ALLOWED_HOSTS=build \
 && python manage.py compilemessages -v 0 --ignore=node_modules \
 && python manage.py collectstatic --noinput -v 0 \
 && useradd --system --uid 10001 molam && mkdir -p /tmp/prometheus && chown molam /tmp/prometheus
USER molam
EXPOSE 8000
# Workers, threads and the exit hook that drops a dead worker's gauges: config/gunicorn.conf.py.
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
