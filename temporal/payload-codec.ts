/**
 * AES-256-GCM payload encryption (the pattern of Temporal's samples-typescript `encryption` sample):
 * each payload is serialised whole (metadata and data), encrypted under the key ring's first key with a
 * fresh 12-byte nonce, and replaced by a payload with `encoding: binary/encrypted`, the key's id and
 * `nonce ‖ ciphertext ‖ tag` as data. Decoding picks the key by that id, so histories written under an
 * older key still read after a rotation as long as the key stays in the ring. Payloads of any other
 * encoding pass through unchanged (histories from before encryption was turned on).
 *
 * The work itself is synchronous (node:crypto) so tests and tools can decode a raw history in one call.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { PayloadKey } from '../core/payload-keys.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const PayloadProto = proto.temporal.api.common.v1.Payload;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const text = new TextEncoder();
const untext = new TextDecoder();

export function encryptPayload(ring: PayloadKey[], payload: Payload): Payload {
  const [current] = ring;
  if (!current) throw new ValueError('no payload encryption key');
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', current.key, nonce);
  const plain = PayloadProto.encode(payload).finish();
  const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return {
    metadata: {
      [METADATA_ENCODING_KEY]: text.encode(ENCRYPTED_ENCODING),
      [KEY_ID_METADATA]: text.encode(current.id),
    },
    data: new Uint8Array(data),
  };
}

export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && encoding !== null && untext.decode(encoding) === ENCRYPTED_ENCODING;
}

/** The payload as it was before encryption; one that is not encrypted comes back as it is. */
export function decryptPayload(ring: PayloadKey[], payload: Payload): Payload {
  if (!isEncrypted(payload)) return payload;
  const idBytes = payload.metadata?.[KEY_ID_METADATA];
  const id = idBytes ? untext.decode(idBytes) : '';
  const key = ring.find((k) => k.id === id);
  if (!key) {
    throw new ValueError(
      `payload encrypted under key "${id}", which is not in PAYLOAD_ENCRYPTION_KEYS (keep retired keys in the ring, after the current one)`,
    );
  }
  const data = Buffer.from(payload.data ?? new Uint8Array());
  if (data.length < NONCE_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key.key, data.subarray(0, NONCE_BYTES));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([
      decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new ValueError(
      `payload does not decrypt under key "${id}": altered, or a different key of that id`,
    );
  }
  return PayloadProto.decode(plain);
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: PayloadKey[]) {
    if (ring.length === 0) throw new ValueError('no payload encryption key');
  }

  get keyId(): string {
    return this.ring[0]!.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => encryptPayload(this.ring, p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => decryptPayload(this.ring, p));
  }
}
