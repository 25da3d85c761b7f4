# The Switchboard example chat backend: one node per container (docker-compose.yml runs two
# behind nginx). Configure it with the environment (EXAMPLE-APP.md, docs/operations.md); it
# applies the database migrations itself at start-up. See docs/deploy.md.
FROM node:20-slim

# The project's installs need npm 11 (package.json "allowScripts"; node:20 ships npm 10).
RUN npm install --global npm@11.19.1 && npm cache clean --force

WORKDIR /app
RUN chown node:node /app
USER node

# Dependencies first, so that code changes reuse this layer. The root postinstall runs
# `prisma generate`, which reads the schema and prisma.config.ts.
COPY --chown=node:node package.json package-lock.json prisma.config.ts ./
COPY --chown=node:node core/package.json core/
COPY --chown=node:node client/package.json client/
COPY --chown=node:node example-app/package.json example-app/
COPY --chown=node:node prisma prisma/
# tsx (which runs the TypeScript sources) is a development dependency: install them too.
RUN npm ci --include=dev --no-audit --no-fund && npm cache clean --force

COPY --chown=node:node . .
RUN npx prisma generate

ENV NODE_ENV=production \
    PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["npm", "start"]
