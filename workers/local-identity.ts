/**
 * Local identities: the API key `npm start` prints (kept in .data/ so it survives restarts) and the
 * identity the stdio entry acts as. Both are rows in api_keys, so reads run under RLS like any caller.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Principal } from '../app/principal.js';
import type { Sql } from '../supabase/db.js';
import { generateApiKey, registerApiKey, type Tenant } from '../supabase/tenants.js';

const localApiKeyFile = (dataDir: string) => path.join(dataDir, 'local-api-key');

/** The key `npm start` printed, or '' when there is none yet. */
export function readLocalApiKey(dataDir: string): Promise<string> {
  return readFile(localApiKeyFile(dataDir), 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
}

/** Load or create the local API key file and make sure its hash is registered for the tenant. */
export async function ensureLocalApiKey(sql: Sql, dataDir: string, tenant: Tenant): Promise<string> {
  const file = localApiKeyFile(dataDir);
  let key = await readLocalApiKey(dataDir);
  if (!key) {
    key = generateApiKey();
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, `${key}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
  }
  await registerApiKey(sql, tenant.id, 'local', key, 'admin');
  return key;
}

/** The stdio entry acts as a service identity of its tenant, so RLS applies to its reads too. */
export async function stdioPrincipal(sql: Sql, tenant: Tenant): Promise<Principal> {
  // Its key is never shown or used: the row exists to give the identity an id that RLS recognises.
  const keyId = await registerApiKey(sql, tenant.id, 'stdio', generateApiKey(), 'admin');
  return {
    actor: `stdio:${tenant.slug}`,
    claims: { sub: keyId, role: 'authenticated' },
    tenants: [{ tenantId: tenant.id, role: 'admin' }],
  };
}

export interface StackState {
  pid: number;
  mcpUrl: string;
  temporalUiUrl: string;
  temporalAddress: string;
}

const stateFile = (dataDir: string) => path.join(dataDir, 'stack.json');

export async function writeStackState(dataDir: string, state: StackState): Promise<void> {
  await writeFile(stateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`);
}

export async function removeStackState(dataDir: string): Promise<void> {
  await rm(stateFile(dataDir), { force: true });
}

/** The running `npm start` stack for this data dir, if its process is alive. */
export async function readLiveStackState(dataDir: string): Promise<StackState | null> {
  try {
    const state = JSON.parse(await readFile(stateFile(dataDir), 'utf8')) as StackState;
    process.kill(state.pid, 0);
    return state;
  } catch {
    return null;
  }
}
