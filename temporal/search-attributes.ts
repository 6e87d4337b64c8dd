/**
 * Make sure the project's custom search attributes exist in the namespace. The dev server gets them
 * as start flags; an existing cluster gets them through the operator service, and when the app is not
 * allowed to add them (Temporal Cloud, restricted roles) it prints the exact command to run.
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Logger } from '../core/logger.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

export function searchAttributeCreateCommand(namespace: string, names: string[]): string {
  const flags = names.map((n) => `--name ${n} --type Keyword`).join(' ');
  return `temporal operator search-attribute create --namespace ${namespace} ${flags}`;
}

/** Returns the names it added. Never throws for a permission problem: it logs the command instead. */
export async function ensureSearchAttributes(client: Client, log: Logger): Promise<string[]> {
  const { namespace } = client.options;
  const operator = client.connection.operatorService;
  const names = SEARCH_ATTRIBUTES.map((k) => k.name);
  let missing: string[];
  try {
    const existing = await operator.listSearchAttributes({ namespace });
    missing = names.filter((n) => !(n in (existing.customAttributes ?? {})));
    if (missing.length === 0) return [];
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((n) => [n, KEYWORD])),
    });
    log.info('registered Temporal search attributes', { namespace, added: missing });
    return missing;
  } catch (err) {
    log.warn(
      `could not register Temporal search attributes; ask an operator to run: ${searchAttributeCreateCommand(namespace, names)}`,
      { error: err instanceof Error ? err.message : String(err) },
    );
    return [];
  }
}
