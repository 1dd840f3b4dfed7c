# The headroom agent image (docker-compose.yml builds it). Two stages: compile TypeScript, then a runtime with
# production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:20-bookworm-slim
WORKDIR /opt/headroom
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY prometheus ./prometheus
COPY alerting ./alerting
# Runs as root inside the container with every capability dropped except those compose adds back (see
# docker-compose.yml): reading other users' /proc entries and signalling their processes needs root's uid.
# V8 flags: the ones bin/headroom uses (src/agent/node-flags.ts, docs/benchmarks.md "Launch flags"): GC tuning only.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--heap-growing-percent=30", "/opt/headroom/dist/cli/main.js"]
CMD ["agent", "--listen", "127.0.0.1:9632", "--path.procfs", "/host/proc", "--path.cgroupfs", "/host/sys/fs/cgroup"]
