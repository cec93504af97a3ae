# kubevend's image. The build stage runs what CI runs (npm ci, npm run build: tsc, then the server's
# bundle); the runtime stage holds the built server and production dependencies only (the `node`
# devDependency stays behind: the base image's Node.js 24 runs it). test/dockerfile.test.ts checks
# what can be checked without a container engine.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle.ts ./scripts/
RUN npm run build

FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
# The root filesystem may be read-only: the SQLite database and, beside it, the fingerprint key go
# to a volume. The policy is mounted at KUBEVEND_POLICY_FILE (the Helm chart mounts a ConfigMap).
# NODE_COMPILE_CACHE: Node's compile cache, filled below from the compiled server, so that every start
# reuses that compiled code though the root filesystem is read-only: kubevend only reads it there.
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/app/.node-compile-cache \
    KUBEVEND_HOST=0.0.0.0 \
    KUBEVEND_POLICY_FILE=/etc/kubevend/policy/policy.yaml \
    KUBEVEND_DATABASE_URL=sqlite:///var/lib/kubevend/kubevend.db
RUN mkdir -p /var/lib/kubevend .node-compile-cache && chown 1000:1000 /var/lib/kubevend .node-compile-cache
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Numeric, so that Kubernetes can verify runAsNonRoot (uid 1000 is the base image's `node` user).
USER 1000:1000
# As the user kubevend runs as, and with CMD's Node options: Node keeps each user's compile cache
# apart, and V8's code cache holds only for the V8 options it was made with (another set of options
# reads and writes a directory of its own), so a cache filled with other options is never read.
RUN node --max-semi-space-size=2 --max-old-space-size=256 --no-maglev --invocation-count-for-turbofan=300 dist/server/cli/warm-compile-cache.js
VOLUME ["/var/lib/kubevend"]
EXPOSE 8080
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz.
CMD ["node", "--max-semi-space-size=2", "--max-old-space-size=256", "--no-maglev", "--invocation-count-for-turbofan=300", "dist/server/server.js"]
