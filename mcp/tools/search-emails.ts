/**
 * `search_emails`: ranked full-text search over subject, sender and body, within one tenant, as the
 * caller (app/emails.ts: searchEmails), paginated, with highlighted snippets.
 */
import { z } from 'zod';
import { FLAG_FILTERS, type FlagFilter, MAX_SEARCH_OFFSET, searchEmails } from '../../app/emails.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

export function registerSearchEmails(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'search_emails',
    {
      title: 'Search emails',
      description:
        'Full-text search over stored emails (subject, sender, body), best match first. Query syntax: ' +
        'words, "exact phrases", -excluded, or. Snippets mark matches with **. `flags` keeps mail with ' +
        'those IMAP flags (a synced mailbox), e.g. ["flagged", "unseen"]; mail expunged on the server is ' +
        'left out unless `includeDeleted`.',
      inputSchema: {
        query: z.string().trim().min(1, 'query is empty').max(500).describe('What to look for'),
        tenant: tenantArg,
        limit: z.number().int().min(1).max(50).default(10),
        offset: z.number().int().min(0).max(MAX_SEARCH_OFFSET).default(0),
        flags: z
          .array(z.enum(Object.keys(FLAG_FILTERS) as [FlagFilter, ...FlagFilter[]]))
          .max(7)
          .optional()
          .describe('Every one must hold: seen, unseen, flagged, unflagged, answered, unanswered, draft'),
        includeDeleted: z
          .boolean()
          .default(false)
          .describe('Also emails expunged on the server (deletedAt set)'),
      },
      outputSchema: {
        total: z.number().int(),
        results: z.array(
          z.object({
            emailId: z.string(),
            subject: z.string().nullable(),
            from: z.string().nullable(),
            sentAt: z.string(),
            threadId: z.string().nullable(),
            rank: z.number(),
            snippet: z.string(),
            flags: z.array(z.string()).describe('IMAP flags from a synced mailbox: \\Seen, \\Flagged, …'),
            deletedAt: z.string().nullable().describe('When it was expunged on the server'),
          }),
        ),
        nextOffset: z.number().int().optional().describe('Pass as offset for the next page'),
      },
      annotations: READ_ONLY,
    },
    async (args) => toolResult({ ...(await searchEmails(ctx, args)) }),
  );
}
