/**
 * A pass-through stream that counts (and optionally hashes) the bytes flowing to a backend, so both
 * backends report progress the same way and the filesystem one can check the hash before committing.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export class CountingStream extends Transform {
  bytes = 0;
  private readonly hash: Hash | undefined;

  constructor(
    private readonly onBytes: (total: number) => void,
    withHash = false,
  ) {
    super();
    this.hash = withHash ? createHash('sha256') : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    this.onBytes(this.bytes);
    done(null, chunk);
  }

  digest(): string | undefined {
    return this.hash?.digest('hex');
  }
}
