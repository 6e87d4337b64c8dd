/**
 * The zero-install database: PGlite (Postgres compiled to WASM) persisted under .data/, served on a
 * local TCP socket so the rest of the code uses the same postgres.js client as for a real server.
 *
 * PGlite is a single backend session: every socket client shares its session state (roles, settings,
 * prepared statements), so the socket server takes one connection and the pool must be sized to 1.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  /** Pool size a client must use: PGlite serves one connection. */
  poolMax: 1;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string | undefined): Promise<EmbeddedPostgres> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    poolMax: 1,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
