/** The storage backend the configuration picks: Supabase Storage when configured, else directories. */
import type { Config } from '../../core/config.js';
import type { StorageBackend } from './backend.js';
import { createFilesystemBackend } from './filesystem.js';
import { createSupabaseBackend } from './supabase-backend.js';

export function createStorageBackend(storage: Config['storage']): StorageBackend {
  return storage.kind === 'supabase'
    ? createSupabaseBackend({ url: storage.url, serviceRoleKey: storage.serviceRoleKey })
    : createFilesystemBackend({ root: storage.root });
}

export type { StorageBackend, UploadProgress, UploadSource } from './backend.js';
export { StorageFailure } from './errors.js';
