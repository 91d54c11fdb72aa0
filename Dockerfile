# Switchyard: build with `docker compose build`, or `docker build -t switchyard .`
# Run: docker run --env-file .env -p 127.0.0.1:4000:4000 -v switchyard-data:/data switchyard
# Settings are environment variables: see .env.example. The server listens on 0.0.0.0 in the
# container, so it refuses to start without a credential: SWITCHYARD_ADMIN_KEY in .env (never
# baked into the image), AUTH_JWKS_URL / AUTH_JWT_SECRET, or a key made beforehand with
# `docker run --rm -v switchyard-data:/data switchyard node dist/keys.js create --name admin --admin`.
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. build: every dependency, the Prisma client generated into src/generated, dist/ compiled from src/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
# postinstall runs `prisma generate` (src/generated is not in the build context: see .dockerignore).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# 2. production dependencies only. No install scripts: nothing the server loads needs one. Optional
# dependencies are left out too: the prisma CLI (about 130 MB) is an optional peer of @prisma/client,
# and the others (piscina's @napi-rs/nice, pg-cloudflare, armor's type package) are not used on Node.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. run: tini as PID 1 forwards SIGTERM to node and reaps; node runs the compiled server as `node`.
FROM ${NODE_IMAGE}
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 DATA_DIR=/data
# package.json says "type": "module"; dist/db/ reads ../../prisma/migrations at start-up.
COPY package.json ./
COPY prisma/migrations ./prisma/migrations
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The embedded database lives in /data, owned by the unprivileged user (before VOLUME, which freezes it).
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 4000
# Ready once migrations are applied; the start period covers a first start on an empty /data.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# On SIGTERM the server lets running chats finish for up to SHUTDOWN_TIMEOUT_MS (30 s): give `docker stop`
# longer than that (`docker stop -t 40`, compose's stop_grace_period), or it kills them at 10 s.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
