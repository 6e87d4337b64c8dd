/** The AES-256-GCM payload codec: round trip, key ids, rotation, tampering and foreign keys. */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { mailSearchValue } from '../../core/search-privacy.js';
import { decryptPayload, EncryptionCodec, encryptPayload } from '../../temporal/payload-codec.js';

const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString();

describe('EncryptionCodec', () => {
  const value = { subject: 'Beta merger plans', from: 'bob@b.example' };
  const plain = defaultPayloadConverter.toPayload(value);
  const decodedValue = (p: Payload) => defaultPayloadConverter.fromPayload(p);

  it('encrypts under the first key, with its id, and a fresh nonce each time', async () => {
    const codec = new EncryptionCodec([k2, k1]);
    const [a] = await codec.encode([plain]);
    const [b] = await codec.encode([plain]);
    expect(text(a!.metadata!.encoding)).toBe('binary/encrypted');
    expect(text(a!.metadata!['encryption-key-id'])).toBe('k2');
    expect(text(a!.data)).not.toContain('Beta merger');
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
    expect((await codec.decode([a!])).map(decodedValue)).toEqual([value]);
  });

  it('decrypts what an older key wrote while that key stays in the ring, and says which key is missing', () => {
    const old = encryptPayload([k1], plain);
    expect(decodedValue(decryptPayload([k2, k1], old))).toEqual(value);
    expect(() => decryptPayload([k2], old)).toThrow(
      'payload encrypted under key "k1", which is not in PAYLOAD_ENCRYPTION_KEYS (keep retired keys in the ring, after the current one)',
    );
  });

  it('refuses an altered payload, and passes a payload that was never encrypted through', () => {
    const sealed = encryptPayload([k1], plain);
    const data = Buffer.from(sealed.data!);
    data[20] = data[20]! ^ 1;
    expect(() => decryptPayload([k1], { ...sealed, data })).toThrow(
      'payload does not decrypt under key "k1": altered, or a different key of that id',
    );
    expect(decryptPayload([k1], plain)).toBe(plain);
  });
});

describe('mail search values', () => {
  const keyed = { clear: false as const, hmacKey: 'an-hmac-key-of-at-least-32-characters' };

  it('are keyed hashes of the normalised value, per field, or the value itself in clear mode', () => {
    const hash = mailSearchValue(keyed, 'EmailFrom', 'alice@example.com');
    expect(hash).toMatch(/^hmac:[0-9a-f]{64}$/);
    expect(mailSearchValue(keyed, 'EmailFrom', ' Alice@Example.COM ')).toBe(hash);
    expect(mailSearchValue(keyed, 'MessageId', 'alice@example.com')).not.toBe(hash);
    expect(mailSearchValue(keyed, 'MessageId', '<id@host>')).toBe(
      mailSearchValue(keyed, 'MessageId', 'id@host'),
    );
    expect(
      mailSearchValue({ ...keyed, hmacKey: `${keyed.hmacKey}!` }, 'EmailFrom', 'alice@example.com'),
    ).not.toBe(hash);
    expect(mailSearchValue({ clear: true }, 'EmailFrom', 'alice@example.com')).toBe('alice@example.com');
  });
});
