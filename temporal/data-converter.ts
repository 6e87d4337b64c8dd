/**
 * The one data converter of every client and worker: payloads (inputs, results, heartbeats, queries,
 * updates, summaries and details, and failure messages and stack traces) are encrypted by the codec of `payload-codec.ts` before they leave the
 * process, so the Temporal server, its database and the Web UI without the codec server see ciphertext.
 * Workflow code is not involved: codecs run outside the sandbox, on the worker's side.
 *
 * Keys: PAYLOAD_ENCRYPTION_KEYS; in the zero-config local stack, a key generated once into
 * `<data dir>/payload-keys` (mode 0600); nothing when PAYLOAD_ENCRYPTION=off, which is logged as a warning.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { formatKeyRing, generatePayloadKey, type PayloadKey, parseKeyRing } from '../core/payload-keys.js';
import { registerSecrets } from '../core/redact.js';
import { EncryptionCodec } from './payload-codec.js';

export const LOCAL_KEY_FILE = 'payload-keys';

/** The key ring this process encrypts and decrypts with, or null when encryption is off. */
export async function resolvePayloadKeys(config: Config, log: Logger): Promise<PayloadKey[] | null> {
  const { encryption } = config.privacy;
  if (encryption.mode === 'keys') return encryption.keys;
  if (encryption.mode === 'off') {
    log.warn(
      'payload encryption is OFF (PAYLOAD_ENCRYPTION=off): run inputs, results, summaries and details are readable by anyone with access to the Temporal server or its Web UI',
    );
    return null;
  }
  const ring = await localKeyRing(config.dataDir);
  registerSecrets(ring.map((k) => k.key.toString('base64')));
  return ring;
}

/** The module workflow bundles and workers load the failure converter from (failure-converter.ts). */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));

/** With keys, failure messages and stack traces are encrypted too (failure-converter.ts). */
export function dataConverterFor(ring: PayloadKey[] | null): DataConverter {
  return ring
    ? { payloadCodecs: [new EncryptionCodec(ring)], failureConverterPath: FAILURE_CONVERTER_PATH }
    : {};
}

/** Read `<dataDir>/payload-keys`, creating it with a fresh key the first time (racing starts agree). */
async function localKeyRing(dataDir: string): Promise<PayloadKey[]> {
  const file = path.join(dataDir, LOCAL_KEY_FILE);
  await mkdir(dataDir, { recursive: true });
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${formatKeyRing([generatePayloadKey('local-1')])}\n`);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // A concurrent creator may still be writing: an empty file is read again shortly.
  for (let attempt = 0; ; attempt++) {
    const text = await readFile(file, 'utf8');
    const ring = parseKeyRing(text);
    if (!('error' in ring)) return ring;
    if (text.trim() !== '' || attempt >= 20) {
      throw new Error(`${file}: ${ring.error} (delete it to generate a new local key)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
