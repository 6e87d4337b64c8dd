/**
 * Which recipients an organization receives mail for (the SMTP listener and the webhooks route by it):
 * `list` for every member, `add` and `remove` for owners and admins. An address or domain belongs to one
 * organization at most; adding one another organization holds is InboundAddressTaken.
 */
import { ErrorType, UserFacingError } from '../core/errors.js';
import { asCaller } from '../supabase/caller.js';
import {
  addInboundAddress,
  type InboundAddress,
  listInboundAddresses,
  removeInboundAddress,
} from '../supabase/inbound.js';
import type { AppDeps } from './deps.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';

export interface InboundAddressesRequest {
  action: 'list' | 'add' | 'remove';
  /** One address (`invoices@acme.example`), or */
  address?: string;
  /** every address of a domain (`acme.example`). */
  domain?: string;
  tenant?: string;
}

export interface InboundAddressesOutcome {
  action: InboundAddressesRequest['action'];
  /** add: false when the organization had it already; remove: false when it had not. */
  changed?: boolean;
  addresses: { kind: InboundAddress['kind']; value: string; createdAt: string }[];
}

export async function inboundAddresses(
  deps: AppDeps,
  request: InboundAddressesRequest,
): Promise<InboundAddressesOutcome> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(
    deps.principal,
    tenantId,
    request.action === 'list' ? 'inbound_addresses.list' : 'inbound_addresses.change',
  );
  let changed: boolean | undefined;
  if (request.action !== 'list') {
    const target = targetOf(request);
    if (request.action === 'add') {
      const added = await addInboundAddress(deps.sql, tenantId, target.kind, target.value);
      if ('takenBy' in added) {
        throw new UserFacingError(
          ErrorType.InboundAddressTaken,
          `${target.value} already receives mail for another organization`,
        );
      }
      changed = added.created;
    } else {
      changed = await removeInboundAddress(deps.sql, tenantId, target.kind, target.value);
    }
    deps.log.info('inbound address changed', { action: request.action, kind: target.kind, changed });
  }
  // Read as the caller: RLS shows the caller's organizations only.
  const rows = await asCaller(deps.sql, deps.principal.claims, (tx) => listInboundAddresses(tx, tenantId));
  return {
    action: request.action,
    ...(changed === undefined ? {} : { changed }),
    addresses: rows.map((r) => ({ kind: r.kind, value: r.value, createdAt: r.createdAt.toISOString() })),
  };
}

function targetOf(request: InboundAddressesRequest): { kind: InboundAddress['kind']; value: string } {
  if (Boolean(request.address) === Boolean(request.domain)) {
    throw new UserFacingError(
      ErrorType.InvalidInput,
      `${request.action} needs exactly one of address or domain`,
    );
  }
  return request.address
    ? { kind: 'address', value: request.address.toLowerCase() }
    : { kind: 'domain', value: request.domain!.toLowerCase() };
}
