#!/bin/sh
# `serve` (the default) runs the dashboard; anything else is a `python -m pipelines` command,
# e.g. `docker compose run --rm dashboard load /incoming`.
set -e
if [ "${1:-serve}" = "serve" ]; then
  exec streamlit run ui/serve.py \
    --server.port "${PORT:-8501}" \
    --server.address "${SERVER_ADDRESS:-0.0.0.0}" \
    --server.headless true \
    --browser.gatherUsageStats false \
    --server.fileWatcherType none
fi
exec python -m pipelines "$@"
