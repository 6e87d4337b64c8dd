/** The stateless servers' pool: reuse per principal, and a bound on what it keeps idle. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../app/principal.js';
import { StatelessServers } from '../../mcp/stateless-servers.js';

const principal = (actor: string): Principal => ({
  actor,
  claims: { sub: actor } as unknown as Principal['claims'],
  tenants: [{ tenantId: `t-${actor}`, role: 'member' }],
});

function pool(maxIdle: number) {
  const built: { actor: string; closed: boolean }[] = [];
  const servers = new StatelessServers((p) => {
    const record = { actor: p.actor, closed: false };
    built.push(record);
    return {
      record,
      close: async () => {
        record.closed = true;
      },
    } as unknown as McpServer;
  }, maxIdle);
  return { servers, built };
}

describe('stateless servers', () => {
  it('reuses a released server for the same principal, never for another', () => {
    const { servers, built } = pool(4);
    const a = servers.take(principal('a'));
    a.release();
    expect(servers.take(principal('a')).server).toBe(a.server);
    const b = servers.take(principal('b'));
    expect(b.server).not.toBe(a.server);
    expect(built.map((r) => r.actor)).toEqual(['a', 'b']);
  });

  it('builds one per concurrent request and keeps at most maxIdle, closing the least recently used', () => {
    const { servers, built } = pool(2);
    const taken = [servers.take(principal('a')), servers.take(principal('a')), servers.take(principal('b'))];
    expect(built).toHaveLength(3);
    for (const t of taken) t.release();
    expect(servers.counts).toEqual({ idle: 2, built: 3 });
    // The oldest idle one (a's first) was closed; b's is still kept.
    expect(built.map((r) => r.closed)).toEqual([true, false, false]);
    expect(servers.take(principal('b')).server).toBe(taken[2]!.server);
  });

  it('with maxIdle 0 keeps nothing', () => {
    const { servers, built } = pool(0);
    servers.take(principal('a')).release();
    expect(servers.counts.idle).toBe(0);
    expect(built[0]!.closed).toBe(true);
  });
});
