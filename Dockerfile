# The production image: one image, three roles (scripts/production.sh release|web|worker).
# Settings come from the environment only; see docker-compose.yml and README "Deployment".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=ensemble_project.settings.production \
    ENSEMBLE_VAR_DIR=/app/var

WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# collectstatic needs a secret only to import the settings; the real one comes at run time.
RUN DJANGO_SECRET_KEY=collectstatic-only-build-time-secret-value-not-used-at-runtime-0000 \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --home /app ensemble \
 && mkdir -p /app/var && chown -R ensemble /app/var

USER ensemble
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["scripts/production.sh"]
CMD ["web"]
