# One image for every ingest-tasks process: the two worker pools and Flower.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ingest_tasks ingest_tasks
COPY workers workers
RUN pip install --no-cache-dir .
ENV HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False
# Run as an unprivileged user; the bulk pool lowers its own priority (nice), which needs no privilege.
RUN useradd --create-home ingest
USER ingest
# all-MiniLM-L6-v2-int8's graph, made now from the shipped weights rather than by each container
RUN python -c "from ingest_tasks.pipeline.embed import get_embedder; get_embedder('all-MiniLM-L6-v2-int8')"
CMD ["python", "-m", "workers", "stream"]
