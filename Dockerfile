# Production image: one image, three roles (web, worker, beat) chosen by the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ONCALL_DATA_DIR=/var/lib/oncall

WORKDIR /app
COPY pyproject.toml README.md ./
COPY oncall ./oncall
COPY scheduling ./scheduling
COPY alerts ./alerts
COPY templates ./templates
COPY manage.py ./
RUN pip install . \
    && useradd --system --home /app oncall \
    && mkdir -p /var/lib/oncall /var/lib/oncall/prometheus \
    && chown -R oncall /var/lib/oncall
# collectstatic needs settings that pass the production guard; these values exist
# only during the build and are not in the image's environment.
RUN DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=build \
    STATIC_ROOT=/app/static python manage.py collectstatic --noinput
USER oncall
EXPOSE 8000
CMD ["python", "-m", "oncall.granian_server"]
