# The auditlog service image (docker compose up builds it).
FROM python:3.11-slim
WORKDIR /srv/auditlog
COPY pyproject.toml README.md ./
COPY app ./app
COPY query_language ./query_language
COPY index_templates ./index_templates
RUN pip install --no-cache-dir -e . && useradd --system auditlog
USER auditlog
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=12 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz').status == 200 else 1)"
CMD ["auditlog", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
