# contactd service image: the Python package with its console assets.
FROM python:3.11-slim
RUN useradd --system --home /srv/contactd contactd
WORKDIR /srv/contactd
COPY pyproject.toml README.md ./
COPY contactd ./contactd
COPY router ./router
COPY channels ./channels
COPY agent-console ./agent-console
RUN pip install --no-cache-dir . && rm -rf contactd router channels agent-console
USER contactd
EXPOSE 8080 2525
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2)" || exit 1
CMD ["contactd", "serve"]
