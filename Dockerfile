# Berth's image: one image for every role (web, worker, scheduler, migrate...), chosen by the command
# (deploy/berth.sh). Multi-stage: the build stage makes the virtualenv; the final stage gets the venv and
# the app only (no pip, no compiler, no caches), runs as an unprivileged user, static files collected.
#
# BASE_IMAGE: any Debian bookworm image with python3 (3.11) and the venv module:
#   python:3.11-slim-bookworm (the default), or one built from Debian packages (`make test-containers` does).
# Wheels: pip downloads from the index, unless wheelhouse/ holds wheels (built on the host with
# `pip wheel -r requirements.txt -w wheelhouse`): then it installs only those, offline.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# binutils only for `strip` below; it stays in this stage.
RUN apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/berth/venv
COPY requirements.txt /tmp/requirements.txt
COPY wheelhouse/ /tmp/wheelhouse/
RUN set -eu; \
    if ls /tmp/wheelhouse/*.whl >/dev/null 2>&1; then source="--no-index --find-links /tmp/wheelhouse"; else source=""; fi; \
    /opt/berth/venv/bin/pip install $source -r /tmp/requirements.txt
# What the image never uses, out of the final stage (about 60 MB: the venv is 66 MB instead of 130; image 187 MB):
# - psycopg's bundled libpq and OpenSSL copies: the final stage takes Debian's libpq5 (security updates from
#   Debian), which psycopg loads by itself when psycopg-binary is absent;
# - translations: Berth runs with USE_I18N = False, Django never reads them;
# - GeoDjango (not an installed app), and uvicorn[standard]'s reload and websocket extras (Berth serves
#   HTTP and SSE only; httptools and uvloop stay). PyYAML stays: drf-spectacular writes the API schema with it;
# - pip and setuptools themselves, and debug symbols in the wheels' shared libraries (20 MB);
# - what the API's docs page never serves (it is Swagger UI only, and the API renders JSON only): Redoc, the
#   source maps (with the comments that point at them, or collectstatic's manifest would look for them) and DRF's
#   browsable-API assets. Each static file is kept four times once collected (hashed, gzip, brotli): ~30 MB.
RUN set -eu; \
    venv=/opt/berth/venv; site="$venv/lib/python3.11/site-packages"; \
    "$venv/bin/pip" uninstall -q -y psycopg-binary watchfiles websockets python-dotenv; \
    "$venv/bin/pip" uninstall -q -y pip setuptools; \
    find "$site" \( -name '*.po' -o -name '*.mo' \) -delete; \
    rm -rf "$site/django/contrib/gis"; \
    sidecar="$site/drf_spectacular_sidecar/static/drf_spectacular_sidecar"; \
    rm -rf "$sidecar/redoc" "$site/rest_framework/static"; \
    find "$sidecar" -name '*.map' -delete; \
    find "$sidecar" \( -name '*.js' -o -name '*.css' \) -exec sed -i '/sourceMappingURL=/d' {} +; \
    find "$site" -name '*.so*' -type f -exec strip --strip-unneeded {} +

FROM ${BASE_IMAGE}
# Set by whoever builds a release: `make test-containers` passes `git describe`. The repository has no licence file
# yet, so the licence label says NOASSERTION (SPDX's word for "not stated") until it has one.
ARG BERTH_VERSION=dev
ARG BERTH_SOURCE=
ARG BERTH_LICENSE=NOASSERTION
LABEL org.opencontainers.image.title="Berth" \
      org.opencontainers.image.description="Web dashboard for the Docker images of a host, for a team" \
      org.opencontainers.image.source="${BERTH_SOURCE}" \
      org.opencontainers.image.version="${BERTH_VERSION}" \
      org.opencontainers.image.licenses="${BERTH_LICENSE}"
# libpq5: PostgreSQL's client library for psycopg (see the build stage).
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
# A fixed, unprivileged user: files in the data volume keep one owner across upgrades.
RUN groupadd --system --gid 10001 berth \
    && useradd --system --uid 10001 --gid berth --home-dir /data --no-create-home --shell /usr/sbin/nologin berth \
    && mkdir -p /data && chown berth:berth /data
COPY --from=build /opt/berth/venv /opt/berth/venv
WORKDIR /opt/berth/app
COPY manage.py ./
COPY config/ config/
COPY images_app/ images_app/
COPY templates/ templates/
COPY static/ static/
COPY deploy/berth.sh /usr/local/bin/berth
COPY deploy/healthcheck.py /usr/local/bin/berth-healthcheck
ENV PATH=/opt/berth/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BERTH_DATA_DIR=/data \
    BERTH_STATIC_ROOT=/opt/berth/static \
    BERTH_BIND=0.0.0.0:8000
# Static files are part of the image (hashed and compressed once, here), not of the data volume, so an
# upgrade never serves the previous version's files. The key is a throwaway: collectstatic signs nothing.
# The app's bytecode is compiled now: the containers run with a read-only root filesystem.
RUN python -c 'import celery, cryptography, django, docker, httptools, psycopg, uvicorn, uvloop' \
    && DJANGO_SECRET_KEY=collectstatic-only BERTH_DATA_DIR=/tmp/collect python -m django collectstatic --noinput -v 0 \
        --settings=config.settings \
    && rm -rf /tmp/collect \
    && python -m compileall -q config images_app \
    && chmod 0755 /usr/local/bin/berth /usr/local/bin/berth-healthcheck
USER berth
VOLUME ["/data"]
EXPOSE 8000
# Only the web role answers HTTP; the probe knows which role runs (deploy/healthcheck.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["berth-healthcheck"]
ENTRYPOINT ["berth"]
CMD ["web"]
