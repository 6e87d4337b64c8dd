/**
 * The payload key ring: `id:base64key,id:base64key` (PAYLOAD_ENCRYPTION_KEYS, or the local key file).
 * The FIRST key encrypts; every key decrypts, so a key is rotated by putting the new one first and
 * keeping the old one until no history that needs it is retained. Each key is 32 bytes (AES-256).
 */
import { randomBytes } from 'node:crypto';

export interface PayloadKey {
  id: string;
  key: Buffer;
}

export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const KEY_BYTES = 32;

/** The ring in its text form, or the sentence that says what is wrong (never the key itself). */
export function parseKeyRing(text: string): PayloadKey[] | { error: string } {
  const entries = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) return { error: 'no keys: expected id:base64key[,id:base64key…]' };
  const ring: PayloadKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID_PATTERN.test(id)) {
      return { error: `entry ${index + 1}: expected id:base64key, the id of letters, digits, ".", "_", "-"` };
    }
    const encoded = entry.slice(colon + 1);
    const key = Buffer.from(encoded, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length !== KEY_BYTES) {
      return { error: `key "${id}": must be ${KEY_BYTES} bytes in base64 (openssl rand -base64 32)` };
    }
    if (ring.some((k) => k.id === id)) return { error: `key "${id}" appears twice` };
    ring.push({ id, key });
  }
  return ring;
}

export function formatKeyRing(ring: PayloadKey[]): string {
  return ring.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
}

export function generatePayloadKey(id: string): PayloadKey {
  return { id, key: randomBytes(KEY_BYTES) };
}
