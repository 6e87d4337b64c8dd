/** `resume_mailbox`: sync again after a pause or a refusal (app/imap-mailboxes.ts: steerMailbox). */
import type { ToolContext } from '../context.js';
import { registerSteerMailbox } from '../steer-mailbox.js';
import type { ToolRegistry } from '../tool-registry.js';

export function registerResumeMailbox(server: ToolRegistry, ctx: ToolContext): void {
  registerSteerMailbox(server, ctx, {
    name: 'resume_mailbox',
    title: 'Resume an IMAP mailbox',
    description:
      'Sync again: after pause_mailbox, or after needs_attention once the account is fixed (connect_mailbox ' +
      'with new credentials resumes by itself).',
    action: 'resume',
  });
}
