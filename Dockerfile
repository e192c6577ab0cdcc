# syntax=docker/dockerfile:1
#
# The kAI Service Stack server: one image for every instance of a node (docs/deployment.md).
#
#   build    the whole workspace with dev dependencies (`npm ci`), compiled to dist/ by `npm run build` (tsc -b,
#            and Vite for the web app)
#   deps     production dependencies only (`npm ci --omit=dev`), from the same lockfile
#   runtime  node:20-bookworm-slim with the compiled packages and the production node_modules, as an
#            unprivileged user; no compiler, no sources, no dev dependencies
#
# Both install stages use Debian bookworm, like the runtime stage, so better-sqlite3's native addon (built or
# fetched in them) links against the same glibc it runs with.

# ---- build -------------------------------------------------------------------------------------------------
FROM node:20-bookworm AS build
# better-sqlite3 compiles its addon with node-gyp when no prebuilt binary can be fetched: python3, make and g++
# (already in this image; named here so that a change of base image cannot drop them unnoticed).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The manifests first: the `npm ci` layer is reused until the lockfile or a package.json changes.
COPY package.json package-lock.json .npmrc ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/sdk/package.json packages/sdk/
COPY packages/server/package.json packages/server/
COPY packages/cli/package.json packages/cli/
COPY packages/web/package.json packages/web/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages/ packages/
RUN npm run build

# ---- deps --------------------------------------------------------------------------------------------------
FROM node:20-bookworm AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/sdk/package.json packages/sdk/
COPY packages/server/package.json packages/server/
COPY packages/cli/package.json packages/cli/
COPY packages/web/package.json packages/web/
# node_modules/@kai/* are links to packages/*: the runtime stage puts each package's dist/ where they point.
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime -----------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
# In a container the server must listen on every interface (its own default, 127.0.0.1, is unreachable from
# outside). The data directory holds per-instance files (logs, the bootstrap admin token; everything on SQLite).
ENV NODE_ENV=production \
    KAI_HOST=0.0.0.0 \
    KAI_PORT=7070 \
    KAI_DATA_DIR=/var/lib/kai
WORKDIR /app
# The deps stage whole: the manifests and every node_modules folder npm made (also any nested in a package),
# then each package's compiled dist/ from the build stage.
COPY --from=deps /app ./
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/sdk/dist packages/sdk/dist
COPY --from=build /app/packages/server/dist packages/server/dist
COPY --from=build /app/packages/cli/dist packages/cli/dist
# The web app's build (static files the server serves at /; its React and Vite are build-time only).
COPY --from=build /app/packages/web/dist packages/web/dist
# Plugins run under bubblewrap (the file boundary) and prlimit (util-linux, in the base image): docs/security.md
# "Plugins". Docker's default seccomp profile refuses the user namespaces both need, so unverified plugins are refused
# in a default container (docs/deployment.md says how to allow them).
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap \
 && rm -rf /var/lib/apt/lists/*
# The code stays owned by root (read-only to the server); only the data directory belongs to the server's user.
# 1000 is the image's `node` user, given by number so that Kubernetes' runAsNonRoot can check it.
# /var/lib/kai-keys: where instances of one node share the vault's audit.key (KAI_VAULT_KEY_DIR; a volume or a mounted secret).
RUN mkdir -p /var/lib/kai /var/lib/kai-keys && chown 1000:1000 /var/lib/kai /var/lib/kai-keys && chmod 0700 /var/lib/kai /var/lib/kai-keys
USER 1000:1000
EXPOSE 7070
# Liveness only (the process answers HTTP); whether it can serve is /readyz, which orchestrators probe themselves.
# node, because the slim image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.KAI_PORT || 7070) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The CLI in exec form: node is PID 1 and gets SIGTERM itself, and `kai serve` finishes in-flight requests on it.
# Any other CLI command runs in its place: `docker run … kai-service-stack storage copy --from … --to …`.
ENTRYPOINT ["node", "/app/packages/cli/dist/main.js"]
CMD ["serve"]
