/**
 * Streamable HTTP sessions, for what only a session can carry: server-to-client notifications (resource
 * subscriptions) on the GET SSE stream. A session
 *  - is created by an `initialize` request without `Mcp-Session-Id` and lives in this process (several
 *    instances behind a load balancer need session affinity on the `Mcp-Session-Id` header);
 *  - is bound to the bearer token that opened it: the same id with another token reads as unknown (404),
 *    so a leaked session id alone is worth nothing;
 *  - keeps its last server-to-client messages (SessionEventStore) so a client reconnecting its stream
 *    with `Last-Event-ID` gets what it missed;
 *  - closes on DELETE, or after MCP_SESSION_IDLE_SECONDS without a request or an open stream.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type {
  EventId,
  EventStore,
  StreamId,
} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** The last `capacity` messages of a session's streams, for replay after Last-Event-ID. */
export class SessionEventStore implements EventStore {
  private readonly events: { id: EventId; streamId: StreamId; message: JSONRPCMessage }[] = [];
  private seq = 0;
  constructor(private readonly capacity: number) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = `${streamId}:${++this.seq}`;
    this.events.push({ id, streamId, message });
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.find((e) => e.id === eventId)?.streamId ?? streamOf(eventId);
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const streamId = streamOf(lastEventId);
    const after = Number(lastEventId.slice(lastEventId.lastIndexOf(':') + 1));
    if (!streamId || !Number.isInteger(after)) throw new Error('Last-Event-ID is not one of this session');
    for (const e of this.events) {
      if (e.streamId === streamId && Number(e.id.slice(e.id.lastIndexOf(':') + 1)) > after) {
        await send(e.id, e.message);
      }
    }
    return streamId;
  }
}

function streamOf(eventId: EventId): StreamId | undefined {
  const at = eventId.lastIndexOf(':');
  return at > 0 ? eventId.slice(0, at) : undefined;
}

export interface Session {
  id: string;
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  /** SHA-256 of the Authorization header that opened it. */
  tokenHash: string;
  lastSeen: number;
  /** Open GET streams: a session with one is never idle. */
  streams: number;
}

export function tokenHash(authorization: string | undefined): string {
  return createHash('sha256')
    .update(authorization ?? '')
    .digest('hex');
}

export const newSessionId = (): string => randomUUID();

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    readonly max: number,
    private readonly idleMs: number,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1000, idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  add(session: Session): void {
    this.sessions.set(session.id, session);
  }

  /** The session under this id opened with this token, else undefined (unknown, or another token's). */
  find(id: string, authorization: string | undefined): Session | undefined {
    const session = this.sessions.get(id);
    if (!session || session.tokenHash !== tokenHash(authorization)) return undefined;
    session.lastSeen = Date.now();
    return session;
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(): void {
    const before = Date.now() - this.idleMs;
    for (const s of this.sessions.values()) {
      if (s.streams === 0 && s.lastSeen < before) void this.close(s);
    }
  }

  private async close(s: Session): Promise<void> {
    this.sessions.delete(s.id);
    await s.transport.close().catch(() => {});
    await s.server.close().catch(() => {});
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => this.close(s)));
  }
}
