# syntax=docker/dockerfile:1
# Klaxon's image: compiled JavaScript and production dependencies on a distroless Node.js base (no
# shell, no package manager), run as an unprivileged user. It writes nothing outside KLAXON_DATA_DIR
# (/tmp/klaxon): run it with a read-only root filesystem and a tmpfs or emptyDir on /tmp. It has no
# redis-server: give it REDIS_URL. Dependencies install without their scripts; then the production
# dependencies whose scripts package.json's allowScripts approves run them: re2 has no prebuilt platform
# package, its script fetches its binary or compiles it (hence the compilers, in that stage only).
#   docker build -t klaxon .
#   docker run --read-only --tmpfs /tmp -e REDIS_URL=redis://:pw@redis:6379 -e KLAXON_API_TOKEN=… klaxon start gateway
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY apps ./apps
COPY libs ./libs
RUN npm run build

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild re2 msgpackr-extract

FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    KLAXON_CONFIG=/app/config/klaxon.yaml \
    KLAXON_DATA_DIR=/tmp/klaxon
WORKDIR /app
COPY package.json ./
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY config ./config
# The base image's "nonroot" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
# Only the gateway serves HTTP; the compose file and the manifests turn this off for the workers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/nodejs/bin/node", "dist/apps/klaxon/bin/klaxon.js"]
CMD ["start", "gateway"]
