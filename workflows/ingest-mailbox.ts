/**
 * mbox import: read the mailbox in chunks, ingest each chunk's messages in slices with bounded
 * concurrency, and end with a report. Counts live in a ledger table, so the report is exact even when
 * activities are retried or a worker dies mid-batch.
 *
 * Messages are stored by activities rather than one child workflow each: a 10,000-message mailbox
 * would otherwise be 10,000 runs. The workflow continues as new before its history grows large,
 * carrying its position in the file.
 */
import {
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MailboxActivities, MailboxReport, ScanResult } from '../activities/mailbox-activities.js';
import { inParallel } from '../core/in-parallel.js';
import { createTaskPool, type TaskPool } from '../core/task-pool.js';
import { storeEmailAttachments } from './email-attachments.js';
import {
  type IngestMailboxInput,
  ingestMailboxActivityOptions,
  LEGACY_SLICE_MESSAGES,
  type MailboxProgress,
  mailboxProgressQuery,
} from './ingest-mailbox.contract.js';
import { archiveRawMessages } from './raw-archive.js';
import { IngestStatus, searchAttribute } from './search-attributes.js';

// ---- Activities -----------------------------------------------------------------------------------

const {
  inspectMailbox,
  scanMailboxChunk,
  ingestMailboxSlice,
  mailboxAttachmentsPending,
  mailboxReport,
  finishMailboxImport,
} = proxyActivities<MailboxActivities>(ingestMailboxActivityOptions);

// ---- Workflow -------------------------------------------------------------------------------------

/** Chunks per run before continuing as new, whatever the server suggests: keeps each history small. */
const CHUNKS_PER_RUN = 20;

export async function ingestMailboxWorkflow(input: IngestMailboxInput): Promise<MailboxReport> {
  const ref = { tenantId: input.tenantId, mailboxSha256: input.mailboxSha256 };
  // From the input, so a replay slices as the run did (runs from before it was an input: 50).
  const sliceMessages = input.sliceMessages ?? LEGACY_SLICE_MESSAGES;
  // A run that only finishes what an earlier run left (leftoversOnly) walks the ledger, not the file.
  const position = input.position ?? {
    offset: 0,
    seq: 0,
    total: input.leftoversOnly
      ? (await mailboxReport(ref)).scanned
      : (await inspectMailbox({ ...ref, source: input.source })).messages,
  };
  let progress: MailboxProgress = {
    total: position.total,
    done: 0,
    stored: 0,
    failed: 0,
    duplicates: 0,
    pending: 0,
  };
  setHandler(mailboxProgressQuery, () => progress);
  upsertSearchAttributes([searchAttribute(IngestStatus, input.leftoversOnly ? 'completing' : 'importing')]);

  const refresh = async () => {
    const counts = await mailboxReport(ref);
    const done = counts.stored + counts.duplicates + counts.failed;
    progress = {
      total: position.total,
      done,
      stored: counts.stored,
      failed: counts.failed,
      duplicates: counts.duplicates,
      pending: counts.pending,
    };
    setCurrentDetails(
      `**${done} / ${position.total}** messages\n\nstored ${counts.stored} · duplicates ${counts.duplicates} · failed ${counts.failed}` +
        (counts.rawNotArchived ? ` · raw messages not archived yet ${counts.rawNotArchived}` : '') +
        (counts.attachmentsFailed ? ` · attachments failed ${counts.attachmentsFailed}` : ''),
    );
    return counts;
  };
  await refresh();

  // Attachments upload beside the next chunks, on one pool for the whole run: a slow or failing one
  // never holds up the rest of its chunk or the chunks after it. The run drains the pool before it
  // continues as new and before its report.
  const attachments = createTaskPool(input.concurrency);
  // Runs started before the pool keep awaiting each chunk's uploads, so their histories replay.
  const pooled = patched(ATTACHMENT_POOL_PATCH);
  // A pipeline (runs from before it replay the chunk-by-chunk steps): each slice's raw messages are
  // archived (I/O on the files queue) as soon as that slice is stored, beside the slices still parsing
  // (CPU), and the next chunk is scanned while this one is stored. Nothing waits for a whole chunk.
  // Twice as many archives in flight as the files worker has slots (FILES_WORKER_CONCURRENCY, 4 by
  // default): its slots, not this run, are the throttle, so the queue holds a backlog, and another
  // tenant's interactive upload or archive is dispatched before it (priority and fairness keys).
  const archives = pooled && patched(PIPELINE_PATCH) ? createTaskPool(2 * input.concurrency) : undefined;
  const drainFiles = async () => {
    await archives?.drain();
    await attachments.drain();
  };
  const scanAt = (at: { offset: number; seq: number }) =>
    input.leftoversOnly
      ? Promise.resolve(ledgerChunk({ ...at, total: position.total }, input.chunkMessages))
      : scanMailboxChunk({
          ...ref,
          source: input.source,
          offset: at.offset,
          seq: at.seq,
          maxMessages: input.chunkMessages,
        });
  let nextScan: Promise<ScanResult> | undefined;
  for (let chunks = 0; ; chunks++) {
    if (chunks >= CHUNKS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      // A scan read ahead is recorded in the ledger; the next run scans it again, which changes nothing.
      await nextScan;
      await drainFiles();
      await continueAsNew<typeof ingestMailboxWorkflow>({ ...input, position });
    }
    const scan = await (nextScan ?? scanAt(position));
    nextScan =
      archives && !scan.eof && chunks + 1 < CHUNKS_PER_RUN
        ? scanAt({ offset: scan.nextOffset, seq: scan.nextSeq })
        : undefined;
    const slices: { fromSeq: number; toSeq: number }[] = [];
    for (let from = position.seq; from < scan.nextSeq; from += sliceMessages) {
      slices.push({ fromSeq: from, toSeq: Math.min(from + sliceMessages, scan.nextSeq) });
    }
    // With a files queue, each slice also claims and stages its new emails' attachments, from the same
    // parse that stores them; the upload step below then reads only the claims.
    const filesTaskQueue = input.filesTaskQueue;
    const archiveSlice = (slice: { fromSeq: number; toSeq: number }) =>
      archiveRawMessages(input.tenantId, filesTaskQueue!, { mailboxSha256: input.mailboxSha256, ...slice });
    await inParallel(slices, input.concurrency, async (slice) => {
      if (!input.leftoversOnly) {
        await ingestMailboxSlice({ ...ref, ...slice, stageAttachments: Boolean(filesTaskQueue) });
      }
      if (archives && filesTaskQueue) {
        // Storing never runs far ahead of the archive: the staged bytes it still needs stay few.
        await condition(() => archives.size < 3 * input.concurrency);
        archives.add(() => archiveSlice(slice));
      }
    });
    if (filesTaskQueue) {
      await storeChunkFiles(input, filesTaskQueue, archives ? [] : slices, pooled ? attachments : undefined, {
        fromSeq: position.seq,
        toSeq: scan.nextSeq,
      });
    }
    position.offset = scan.nextOffset;
    position.seq = scan.nextSeq;
    await refresh();
    if (scan.eof) break;
  }
  await drainFiles();

  // Runs started before the event existed replay their last mailboxReport.
  const report = patched(MAILBOX_IMPORTED_EVENT_PATCH)
    ? await finishMailboxImport(ref)
    : await mailboxReport(ref);
  const unfinished = report.failed > 0 || report.rawNotArchived > 0 || report.attachmentsFailed > 0;
  upsertSearchAttributes([searchAttribute(IngestStatus, unfinished ? 'imported-with-failures' : 'imported')]);
  return report;
}

const ATTACHMENT_POOL_PATCH = 'mailbox-attachment-pool';
const MAILBOX_IMPORTED_EVENT_PATCH = 'mailbox-imported-event';
const PIPELINE_PATCH = 'mailbox-pipeline';

/** The next range of an already scanned mailbox, read from the ledger's count (leftoversOnly runs). */
function ledgerChunk(position: { seq: number; total: number }, chunkMessages: number): ScanResult {
  const nextSeq = Math.min(position.seq + chunkMessages, position.total);
  return { scanned: nextSeq - position.seq, nextSeq, nextOffset: 0, eof: nextSeq >= position.total };
}

/**
 * A chunk's files: its emails' attachments are queued on the run's pool, its raw messages archived a
 * slice per activity. Both read from the ledger, not from the slice results: a slice whose result was
 * lost to a crash still had its messages stored, and a retry or a re-run does only what is left.
 */
async function storeChunkFiles(
  input: IngestMailboxInput,
  filesTaskQueue: string,
  /** Slices to archive here (none when the pipeline archived each as it was stored). */
  slices: { fromSeq: number; toSeq: number }[],
  /** The run's upload pool; without it (a run from before the pool) the chunk awaits its uploads. */
  attachments: TaskPool | undefined,
  range: { fromSeq: number; toSeq: number },
): Promise<void> {
  const withAttachments = await mailboxAttachmentsPending({
    tenantId: input.tenantId,
    mailboxSha256: input.mailboxSha256,
    ...range,
  });
  const store = (email: { emailId: string; rawSha256: string }) =>
    storeEmailAttachments({ ...email, tenantId: input.tenantId, filesTaskQueue });
  const archive = () =>
    inParallel(slices, input.concurrency, (slice) =>
      archiveRawMessages(input.tenantId, filesTaskQueue, { mailboxSha256: input.mailboxSha256, ...slice }),
    );
  if (!attachments) {
    await Promise.all([inParallel(withAttachments, input.concurrency, store), archive()]);
    return;
  }
  for (const email of withAttachments) attachments.add(() => store(email));
  await archive();
}
