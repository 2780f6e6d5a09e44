# The production image: one image, three roles (scripts/production.sh release|web|worker).
# Settings come from the environment only; see docker-compose.yml and README "Deployment".
# tests/test_image.py runs this file's build steps and HEALTHCHECK (read from here) without Docker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=ensemble_project.settings.production \
    ENSEMBLE_VAR_DIR=/app/var

WORKDIR /app
# The image's set only; requirements-dev.txt (the bundled Typesense server, test tools) stays out.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# The build imports the settings through the build profile: production without its runtime
# secrets (ensemble_project/settings/build.py says why). An unsafe production setting fails
# the build here; the static files land in /app/var/static, which whitenoise serves.
RUN python manage.py check --deploy --fail-level WARNING --settings=ensemble_project.settings.build
RUN python manage.py collectstatic --noinput --settings=ensemble_project.settings.build
# The app may write to /app/var, not to the collected static files (they stay root's).
RUN useradd --system --uid 10001 --home /app ensemble \
 && chown ensemble /app/var

USER ensemble
EXPOSE 8000
# Liveness: gunicorn answers /healthz whatever the Host header (README, "Health").
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["scripts/production.sh", "probe"]
ENTRYPOINT ["scripts/production.sh"]
CMD ["web"]
