/**
 * `search_emails`: ranked full-text search over subject, sender and body, within one tenant, as the
 * caller (RLS applies), paginated, with highlighted snippets.
 */
import { z } from 'zod';
import { asCaller } from '../../supabase/caller.js';
import { searchEmails } from '../../supabase/email-queries.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

const MAX_OFFSET = 10_000;

export function registerSearchEmails(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'search_emails',
    {
      title: 'Search emails',
      description:
        'Full-text search over stored emails (subject, sender, body), best match first. Query syntax: ' +
        'words, "exact phrases", -excluded, or. Snippets mark matches with **.',
      inputSchema: {
        query: z.string().trim().min(1, 'query is empty').max(500).describe('What to look for'),
        tenant: tenantArg,
        limit: z.number().int().min(1).max(50).default(10),
        offset: z.number().int().min(0).max(MAX_OFFSET).default(0),
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
          }),
        ),
        nextOffset: z.number().int().optional().describe('Pass as offset for the next page'),
      },
      annotations: READ_ONLY,
    },
    async ({ query, tenant, limit, offset }) => {
      const tenantId = await resolveTenant(ctx.sql, ctx.principal, tenant);
      const { total, hits } = await asCaller(ctx.sql, ctx.principal.claims, (tx) =>
        searchEmails(tx, tenantId, query, { limit, offset }),
      );
      const next = offset + hits.length;
      return toolResult({
        total,
        results: hits,
        ...(next < total && next <= MAX_OFFSET ? { nextOffset: next } : {}),
      });
    },
  );
}
