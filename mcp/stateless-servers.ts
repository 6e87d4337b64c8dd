/**
 * McpServers for stateless Streamable HTTP requests, built once per principal and reused (issue 15):
 * building one registers every tool with its schemas, several milliseconds of CPU, which a tool-only
 * client used to pay on every call. A server serves one request at a time (it holds one transport);
 * concurrent requests of a principal get more servers. Idle servers are kept up to `maxIdle` over all
 * principals, the least recently used dropped first.
 *
 * The key is the whole principal (actor, claims and tenants as authenticated for this request), so a
 * changed role or membership gets servers of its own; the stale ones age out.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Principal } from '../app/principal.js';

export class StatelessServers {
  /** Idle servers by principal, in least-recently-used order (Map keeps insertion order). */
  private readonly idle = new Map<string, McpServer[]>();
  private idleCount = 0;
  private builtCount = 0;

  constructor(
    private readonly build: (principal: Principal) => McpServer,
    private readonly maxIdle: number,
  ) {}

  /** Servers idle now, and built since the start. */
  get counts(): { idle: number; built: number } {
    return { idle: this.idleCount, built: this.builtCount };
  }

  /** An idle server of this principal, or a new one; hand it back with `release` once its transport closed. */
  take(principal: Principal): { server: McpServer; release: () => void } {
    const key = JSON.stringify(principal);
    const list = this.idle.get(key);
    let server = list?.pop();
    if (!server) {
      server = this.build(principal);
      this.builtCount++;
    }
    if (list) {
      this.idleCount--;
      if (list.length === 0) this.idle.delete(key);
    }
    return { server, release: () => this.keep(key, server) };
  }

  private keep(key: string, server: McpServer): void {
    if (this.maxIdle === 0) {
      void server.close();
      return;
    }
    const list = this.idle.get(key) ?? [];
    this.idle.delete(key);
    this.idle.set(key, [...list, server]);
    this.idleCount++;
    while (this.idleCount > this.maxIdle) {
      const [oldestKey, oldest] = this.idle.entries().next().value as [string, McpServer[]];
      const dropped = oldest.shift();
      this.idleCount--;
      if (oldest.length === 0) this.idle.delete(oldestKey);
      void dropped?.close();
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    this.idleCount = 0;
    await Promise.all(all.map((s) => s.close()));
  }
}
