# dorasim for a room of people: docs/hosting.md. Build: docker build -t dorasim .
# Run:   docker run --rm -p 8501:8501 dorasim     (then open http://HOST:8501)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DORASIM_WORKERS=2

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin dorasim

WORKDIR /app
COPY pyproject.toml README.md app.py ./
COPY sim ./sim
COPY dorasim_app ./dorasim_app
COPY scenarios ./scenarios
COPY .streamlit ./.streamlit
RUN pip install '.[app]' && chown -R root:root /app && chmod -R a+rX,go-w /app

USER dorasim
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() == b'ok' else 1)"

# .streamlit/config.toml (copied above) turns XSRF protection and CORS on and caps uploads at 50 MB;
# the flags repeat the settings that matter, and listen on every interface inside the container.
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", "--server.fileWatcherType=none", "--server.runOnSave=false", "--server.enableXsrfProtection=true", "--server.enableCORS=true", "--server.maxUploadSize=50", "--browser.gatherUsageStats=false", "--client.showErrorDetails=none"]
