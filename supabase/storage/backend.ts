/**
 * One storage interface, shaped like supabase/storage's backend adapter (upload/head/get/delete on
 * bucket + key, with streams), so the filesystem and Supabase Storage are interchangeable and the
 * upload activity does not know which one it talks to.
 */
import type { Readable } from 'node:stream';

/** Bytes to upload, readable from any offset (a resumed upload starts mid-file). */
export interface UploadSource {
  size: number;
  open(start?: number): Readable;
}

/** Where an unfinished upload stands: carried in the activity's heartbeats, handed back on a retry. */
export interface UploadProgress {
  bytesSent: number;
  /** The resumable (TUS) upload's URL; absent for single-request uploads. */
  uploadUrl?: string;
}

export interface UploadOptions {
  contentType: string;
  /** `attachment; filename="…"` for content that must be downloaded, never rendered (SVG, HTML). */
  contentDisposition?: string;
  /** When given, a backend that can check (the filesystem) refuses to commit other bytes. */
  sha256?: string;
  signal?: AbortSignal;
  /** Where a previous attempt stopped. */
  resume?: UploadProgress;
  onProgress?: (progress: UploadProgress) => void;
  /** A resumable upload got its URL: persist it before sending bytes, so a crash can resume it. */
  onUploadUrl?: (url: string) => Promise<void>;
}

export interface UploadOutcome {
  /** The key already held an object of this size: keys are content-addressed, so that is this file. */
  alreadyExisted: boolean;
  bytesSent: number;
  /** Bytes of this attempt that a previous attempt had already delivered (0 when nothing resumed). */
  resumedFrom: number;
}

export interface ObjectInfo {
  size: number;
  /**
   * How the object is served, for objects stored with a disposition (active content): the filesystem
   * backend returns what it kept; Supabase Storage keeps and serves them itself, so its head omits them.
   */
  contentType?: string;
  contentDisposition?: string;
}

export interface StorageBackend {
  readonly kind: 'filesystem' | 'supabase';
  uploadObject(
    bucket: string,
    key: string,
    source: UploadSource,
    opts: UploadOptions,
  ): Promise<UploadOutcome>;
  headObject(bucket: string, key: string): Promise<ObjectInfo | null>;
  getObject(bucket: string, key: string): Promise<Readable>;
  deleteObjects(bucket: string, keys: string[]): Promise<void>;
  /** Create a private bucket unless it exists. Idempotent; the workers call it for their buckets at start. */
  ensureBucket(bucket: string): Promise<'created' | 'exists'>;
}
