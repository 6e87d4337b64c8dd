/** `disconnect_mailbox`: stop the sync, delete the credentials (app/imap-mailboxes.ts: steerMailbox). */
import type { ToolContext } from '../context.js';
import { registerSteerMailbox } from '../steer-mailbox.js';
import type { ToolRegistry } from '../tool-registry.js';

export function registerDisconnectMailbox(server: ToolRegistry, ctx: ToolContext): void {
  registerSteerMailbox(server, ctx, {
    name: 'disconnect_mailbox',
    title: 'Disconnect an IMAP mailbox',
    description:
      'Stop syncing for good and delete the stored credentials. The mail already stored stays; ' +
      'connect_mailbox connects the account again.',
    action: 'disconnect',
  });
}
