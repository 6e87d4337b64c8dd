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
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MailboxActivities, MailboxReport } from '../activities/mailbox-activities.js';
import { inParallel } from '../core/in-parallel.js';
import { storeEmailAttachments } from './email-attachments.js';
import {
  type IngestMailboxInput,
  ingestMailboxActivityOptions,
  type MailboxProgress,
  mailboxProgressQuery,
} from './ingest-mailbox.contract.js';
import { archiveRawMessages } from './raw-archive.js';
import { IngestStatus, searchAttribute } from './search-attributes.js';

// ---- Activities -----------------------------------------------------------------------------------

const { inspectMailbox, scanMailboxChunk, ingestMailboxSlice, mailboxAttachmentsPending, mailboxReport } =
  proxyActivities<MailboxActivities>(ingestMailboxActivityOptions);

// ---- Workflow -------------------------------------------------------------------------------------

const SLICE_MESSAGES = 50;
/** Chunks per run before continuing as new, whatever the server suggests: keeps each history small. */
const CHUNKS_PER_RUN = 20;

export async function ingestMailboxWorkflow(input: IngestMailboxInput): Promise<MailboxReport> {
  const ref = { tenantId: input.tenantId, mailboxSha256: input.mailboxSha256 };
  const position = input.position ?? {
    offset: 0,
    seq: 0,
    total: (await inspectMailbox({ ...ref, source: input.source })).messages,
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
  upsertSearchAttributes([searchAttribute(IngestStatus, 'importing')]);

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
        (counts.rawNotArchived ? ` · raw messages not archived yet ${counts.rawNotArchived}` : ''),
    );
    return counts;
  };
  await refresh();

  for (let chunks = 0; ; chunks++) {
    if (chunks >= CHUNKS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof ingestMailboxWorkflow>({ ...input, position });
    }
    const scan = await scanMailboxChunk({
      ...ref,
      source: input.source,
      offset: position.offset,
      seq: position.seq,
      maxMessages: input.chunkMessages,
    });
    const slices: { fromSeq: number; toSeq: number }[] = [];
    for (let from = position.seq; from < scan.nextSeq; from += SLICE_MESSAGES) {
      slices.push({ fromSeq: from, toSeq: Math.min(from + SLICE_MESSAGES, scan.nextSeq) });
    }
    // With a files queue, each slice also claims and stages its new emails' attachments, from the same
    // parse that stores them; the upload step below then reads only the claims.
    const stageAttachments = Boolean(input.filesTaskQueue);
    await inParallel(slices, input.concurrency, (slice) =>
      ingestMailboxSlice({ ...ref, ...slice, stageAttachments }),
    );
    if (input.filesTaskQueue) {
      // Read from the ledger, not from the slice results: a slice whose result was lost to a crash still
      // had its messages stored, and their attachments still need uploading.
      const withAttachments = await mailboxAttachmentsPending({
        ...ref,
        fromSeq: position.seq,
        toSeq: scan.nextSeq,
      });
      const filesTaskQueue = input.filesTaskQueue;
      // Attachments and raw messages go to storage side by side, on the files queue. Raw messages go a
      // slice per activity; the activity reads from the ledger which emails of its slice still need
      // theirs, so a retry or a re-run does only what is left.
      await Promise.all([
        inParallel(withAttachments, input.concurrency, (email) =>
          storeEmailAttachments({ ...email, tenantId: input.tenantId, filesTaskQueue }),
        ),
        inParallel(slices, input.concurrency, (slice) =>
          archiveRawMessages(input.tenantId, filesTaskQueue, {
            mailboxSha256: input.mailboxSha256,
            ...slice,
          }),
        ),
      ]);
    }
    position.offset = scan.nextOffset;
    position.seq = scan.nextSeq;
    await refresh();
    if (scan.eof) break;
  }

  const report = await mailboxReport(ref);
  upsertSearchAttributes([
    searchAttribute(IngestStatus, report.failed > 0 ? 'imported-with-failures' : 'imported'),
  ]);
  return report;
}
