/** Output shapes shared by the IMAP mailbox tools (app/imap-mailboxes.ts), and the mailbox id argument. */
import { z } from 'zod';

export const mailboxIdArg = z.uuid().describe('The mailbox id connect_mailbox or list_mailboxes returned');

export const MailboxViewSchema = {
  mailboxId: z.string(),
  host: z.string(),
  port: z.number().int(),
  tls: z.enum(['tls', 'starttls', 'none']),
  username: z.string(),
  auth: z.enum(['password', 'xoauth2']),
  folders: z.array(z.string()).describe('As asked for; ["*"] is every folder but Trash and Junk'),
  since: z.union([z.number().int(), z.literal('all')]).describe('Days back the initial sync goes'),
  status: z
    .enum(['syncing', 'idle', 'paused', 'needs_attention', 'disconnected'])
    .describe('needs_attention: the server refused the login (lastError says why); connect again or resume'),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  lastSyncAt: z.string().nullable(),
  workflowId: z.string(),
  temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
};

const FolderSchema = z.object({
  name: z.string(),
  uidValidity: z.string().nullable(),
  highestUid: z.number().int(),
  initialSync: z.object({ total: z.number().int(), done: z.number().int(), complete: z.boolean() }),
  messages: z.object({
    stored: z.number().int(),
    linked: z.number().int().describe('Already stored (same Message-ID or content), linked to this UID'),
    failed: z.number().int().describe('Refused (too large, unparseable): see ingest failures'),
    expunged: z.number().int(),
  }),
  lastError: z.string().nullable(),
  syncedAt: z.string().nullable(),
  changeTracking: z
    .enum(['qresync', 'condstore', 'full'])
    .nullable()
    .describe(
      "How the server's changes are read: qresync (flag changes and VANISHED expunges since the last MODSEQ), condstore (flag changes since it, expunges by the UID list), full (every flag and UID); null before the first caught-up pass",
    ),
});

export const MailboxDetailSchema = {
  ...MailboxViewSchema,
  folderProgress: z.array(FolderSchema),
};
