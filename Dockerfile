# syntax=docker/dockerfile:1
# modelreg: multi-stage build. Stage 1 builds the browser assets (the web console, GraphiQL: served by the app, no CDN),
# stage 2 builds the wheel from the locked dependencies (requirements/runtime.txt), stage 3 is the slim runtime running as a non-root user.

FROM node:20-bookworm-slim AS web
WORKDIR /src
COPY package.json package-lock.json ./
# The console's build tools (Vite, graphql-codegen, TypeScript) are development dependencies: none of them ships.
RUN npm ci --no-audit --no-fund
COPY scripts/build_web_assets.py scripts/
COPY app/web app/web
COPY schema.graphql ./
COPY console console
RUN npm run console:build \
    && apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 >/dev/null \
    && python3 scripts/build_web_assets.py

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY policies policies
COPY app app
COPY --from=web /src/app/web app/web
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 modelreg \
    && useradd --system --uid 10001 --gid modelreg --home-dir /data --shell /usr/sbin/nologin modelreg \
    && mkdir /data && chown modelreg:modelreg /data
COPY requirements/runtime.txt /tmp/runtime.txt
COPY --from=build /wheels /wheels
# The locked, hash-checked dependency set (requirements/runtime.txt), then the project's own wheel alone.
RUN pip install --no-cache-dir --require-hashes --no-deps -r /tmp/runtime.txt \
    && pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels /tmp/runtime.txt
ENV MODELREG_DATA_DIR=/data \
    MODELREG_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
USER modelreg
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
CMD ["modelreg", "serve", "--host", "0.0.0.0"]
