/** `resync_mailbox`: re-list a folder or all (app/imap-mailboxes.ts: steerMailbox). */
import type { ToolContext } from '../context.js';
import { registerSteerMailbox } from '../steer-mailbox.js';
import type { ToolRegistry } from '../tool-registry.js';

export function registerResyncMailbox(server: ToolRegistry, ctx: ToolContext): void {
  registerSteerMailbox(server, ctx, {
    name: 'resync_mailbox',
    title: 'Re-sync an IMAP mailbox',
    description:
      'Re-list one folder (or all) within the sync window: messages already stored are linked, never ' +
      'stored twice; messages that failed before are tried again.',
    action: 'resync',
    folderArg: true,
  });
}
