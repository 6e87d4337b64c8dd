/**
 * `inbound_addresses`: the recipients an organization receives mail for over SMTP and the inbound-parse
 * webhooks (app/inbound-addresses.ts). `list` for every member; `add` / `remove` for owners and admins.
 */
import { z } from 'zod';
import { inboundAddresses } from '../../app/inbound-addresses.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg } from '../tool-schemas.js';

const DOMAIN = /^(?=.{3,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;

export function registerInboundAddresses(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'inbound_addresses',
    {
      title: 'Inbound addresses',
      description:
        'The recipient addresses and domains this organization receives mail for, over the SMTP listener ' +
        'and the inbound webhooks (Mailgun, Postmark, SendGrid). list; add or remove one address ' +
        '(invoices@acme.example) or a whole domain (acme.example; an address row wins over its domain). ' +
        'add and remove are for owners and admins.',
      inputSchema: {
        action: z.enum(['list', 'add', 'remove']),
        address: z.email('address must be an email address').max(320).optional(),
        domain: z.string().trim().regex(DOMAIN, 'domain must be a DNS name such as acme.example').optional(),
        tenant: tenantArg,
      },
      outputSchema: {
        action: z.string(),
        changed: z.boolean().optional(),
        addresses: z.array(
          z.object({ kind: z.enum(['address', 'domain']), value: z.string(), createdAt: z.string() }),
        ),
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => toolResult({ ...(await inboundAddresses(ctx, args)) }),
  );
}
