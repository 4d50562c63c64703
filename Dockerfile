# The dashboard and its command line in one image (issue 16). Build: `docker compose build`.
# Offline build: put every wheel of requirements.txt in deploy/wheels/ first
# (`pip download -r requirements.txt -d deploy/wheels` on a connected machine); pip then uses only those.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GX_ANALYTICS_ENABLED=false \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

WORKDIR /app
COPY requirements.txt /tmp/build/requirements.txt
COPY deploy/wheels/ /tmp/build/wheels/
RUN if ls /tmp/build/wheels/*.whl >/dev/null 2>&1; then \
      pip install --no-cache-dir --no-index --find-links /tmp/build/wheels -r /tmp/build/requirements.txt; \
    else \
      pip install --no-cache-dir -r /tmp/build/requirements.txt; \
    fi && rm -rf /tmp/build

COPY . /app
# data/ (warehouse, audit log, accounts, sessions) is the volume: every default path of the code points into it
RUN useradd --uid 10001 --no-create-home btam \
    && rm -rf /app/data && mkdir -p /data && ln -s /data /app/data && chown btam /data \
    && chmod +x /app/deploy/entrypoint.sh
USER btam
VOLUME /data
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["serve"]
