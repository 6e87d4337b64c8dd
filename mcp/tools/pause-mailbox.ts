/** `pause_mailbox`: stop syncing until resume_mailbox (app/imap-mailboxes.ts: steerMailbox). */
import type { ToolContext } from '../context.js';
import { registerSteerMailbox } from '../steer-mailbox.js';
import type { ToolRegistry } from '../tool-registry.js';

export function registerPauseMailbox(server: ToolRegistry, ctx: ToolContext): void {
  registerSteerMailbox(server, ctx, {
    name: 'pause_mailbox',
    title: 'Pause an IMAP mailbox',
    description: 'Stop syncing (the IDLE connection is closed) until resume_mailbox. Nothing is lost.',
    action: 'pause',
  });
}
