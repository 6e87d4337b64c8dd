# durable-inbox: one image for the worker and the MCP server (the command picks which).
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    DURABLE_INBOX_DATA_DIR=/app/.data

COPY package.json package-lock.json ./
# The postgres driver patch (patches/README.md): npm ci's postinstall applies it, also with --omit=dev.
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY core ./core
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY temporal ./temporal
COPY imap ./imap
COPY webhooks ./webhooks
COPY app ./app
COPY mcp ./mcp
COPY supabase ./supabase
COPY dev-stack ./dev-stack
COPY tsconfig.json ./

RUN mkdir -p /app/.data && chown node:node /app/.data
USER node

ENTRYPOINT ["node", "bin/durable-inbox.mjs"]
CMD ["worker"]
