/**
 * The project's typed search attributes. They make runs findable in the Temporal Web UI
 * (e.g. `TenantId = "…" AND IngestStatus = "stored"`). The app registers them at start.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TenantId = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const EmailFrom = defineSearchAttributeKey('EmailFrom', SearchAttributeType.KEYWORD);
export const MessageId = defineSearchAttributeKey('MessageId', SearchAttributeType.KEYWORD);
export const ThreadId = defineSearchAttributeKey('ThreadId', SearchAttributeType.KEYWORD);
export const IngestStatus = defineSearchAttributeKey('IngestStatus', SearchAttributeType.KEYWORD);
export const PromptTool = defineSearchAttributeKey('PromptTool', SearchAttributeType.KEYWORD);
export const RolloutStage = defineSearchAttributeKey('RolloutStage', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [
  TenantId,
  EmailFrom,
  MessageId,
  ThreadId,
  IngestStatus,
  PromptTool,
  RolloutStage,
];
