/**
 * The inbound SMTP door (`durable-inbox smtp`, and `npm start` when SMTP_INBOUND_PORT is set): an
 * `smtp-server` listener that takes mail for the recipients organizations receive mail for
 * (inbound_addresses, app/inbound.ts) and hands each message to the same ingestion the MCP tools use.
 *
 * Replies, as a sending MTA reads them:
 *  - RCPT of an address nobody receives mail for: 550 5.1.1, at RCPT (the sender bounces at once);
 *  - a message over MAX_EMAIL_BYTES: 552 5.3.4 (SIZE is advertised; the transfer is measured, since a
 *    client may ignore it);
 *  - a message the parser refuses (header bomb, too many attachments, too deep): 554 5.6.0 with the reason;
 *  - storage not reachable: 451 4.3.0 (the sender keeps it and retries; nothing was stored);
 *  - 250 only once the message is staged and its ledger row committed. The ingestion run starts after
 *    the reply; if this process dies first, the recovery sweep starts it from the ledger.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import {
  acceptInbound,
  type InboundDeps,
  routeRecipients,
  startAccepted,
  tenantOfRecipient,
} from '../app/inbound.js';
import { isLoopbackHost } from '../core/config.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { describeFailure } from '../core/failure.js';
import { constantTimeEqual } from '../core/inbound-webhooks.js';

export interface SmtpListenerOptions {
  host: string;
  port: number;
  /** The name in the greeting; default: the machine's host name. */
  hostname?: string;
  /** PEM key and certificate: STARTTLS is offered when set. */
  tls?: { key: Buffer; cert: Buffer };
  auth?: { username: string; password: string; required: boolean };
  maxClients: number;
  maxEmailBytes: number;
  deps: InboundDeps;
}

export interface RunningSmtpServer {
  host: string;
  port: number;
  /** Messages whose runs are being started after their 250: close() waits for them. */
  pendingStarts(): number;
  close(): Promise<void>;
}

const MAX_RECIPIENTS = 100;

function smtpError(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startSmtpServer(opts: SmtpListenerOptions): Promise<RunningSmtpServer> {
  const { deps } = opts;
  const starts = new Set<Promise<void>>();
  const disabled = [...(opts.tls ? [] : ['STARTTLS']), ...(opts.auth ? [] : ['AUTH'])];

  const server = new SMTPServer({
    name: opts.hostname,
    banner: 'durable-inbox ESMTP',
    size: opts.maxEmailBytes,
    maxClients: opts.maxClients,
    maxRecipients: MAX_RECIPIENTS,
    hideENHANCEDSTATUSCODES: true,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    disabledCommands: disabled,
    authOptional: !opts.auth?.required,
    authMethods: ['PLAIN', 'LOGIN'],
    // Credentials in the clear only where nobody else can listen.
    allowInsecureAuth: isLoopbackHost(opts.host),
    logger: false,
    onAuth(auth, _session, callback) {
      const ok =
        opts.auth &&
        constantTimeEqual(auth.username ?? '', opts.auth.username) &&
        constantTimeEqual(auth.password ?? '', opts.auth.password);
      if (!ok) return callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      tenantOfRecipient(deps, address.address).then(
        (tenantId) => {
          if (tenantId) return callback();
          callback(smtpError(550, `5.1.1 <${address.address}>: recipient address rejected: not served here`));
        },
        (err: unknown) => {
          deps.log.warn('SMTP recipient lookup failed', { error: describeFailure(err).message });
          callback(smtpError(451, '4.3.0 temporary failure looking up the recipient, try again later'));
        },
      );
    },
    onData(stream, session, callback) {
      receive(stream, session).then(
        (accepted) => {
          // Stored and committed: now the sender may be told, and then the run starts.
          callback(null, `2.0.0 Ok: queued as ${accepted.parsed.rawSha256.slice(0, 16)}`);
          const start = startAccepted(deps, accepted).finally(() => starts.delete(start));
          starts.add(start);
        },
        (err: unknown) => callback(replyFor(err)),
      );
    },
  });

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession) {
    const raw = await readMessage(stream, opts.maxEmailBytes);
    if (!raw) {
      throw smtpError(
        552,
        `5.3.4 message exceeds the fixed maximum message size of ${opts.maxEmailBytes} bytes`,
      );
    }
    return accept(raw, session);
  }

  async function accept(raw: Buffer, session: SMTPServerSession) {
    const recipients = session.envelope.rcptTo.map((r) => r.address);
    const { tenants } = await routeRecipients(deps, recipients);
    return acceptInbound(deps, {
      source: 'smtp',
      raw,
      tenants,
      envelope: {
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
        remoteAddress: session.remoteAddress,
        heloName: session.hostNameAppearsAs,
        tls: Boolean(session.secure),
        user: typeof session.user === 'string' ? session.user : undefined,
      },
    });
  }

  function replyFor(err: unknown): Error {
    if (err instanceof Error && 'responseCode' in err) return err;
    if (err instanceof UserFacingError) {
      if (err.type === ErrorType.EmailTooLarge) return smtpError(552, `5.3.4 ${err.message}`);
      if (err.type === ErrorType.UnknownRecipient) return smtpError(550, `5.1.1 ${err.message}`);
      return smtpError(554, `5.6.0 ${err.type}: ${err.message}`);
    }
    // Nothing was stored: a temporary failure makes the sending MTA keep the message and retry.
    deps.log.warn('SMTP message not stored; the sender will retry', { error: describeFailure(err).message });
    return smtpError(451, '4.3.0 temporary failure storing the message, try again later');
  }

  server.on('error', (err) => deps.log.warn('SMTP connection error', { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    host: opts.host,
    port,
    pendingStarts: () => starts.size,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...starts]);
    },
  };
}

/**
 * The message bytes, or null when it went over `maxBytes`: the rest of an oversized transfer is read and
 * dropped (the client must finish DATA before it can read the 552), never buffered.
 */
function readMessage(stream: SMTPServerDataStream, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes && !stream.sizeExceeded) chunks.push(chunk);
      else chunks.length = 0;
    });
    stream.once('error', reject);
    stream.once('end', () => {
      if (stream.sizeExceeded || size > maxBytes) resolve(null);
      else resolve(Buffer.concat(chunks, size));
    });
  });
}
