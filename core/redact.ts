/**
 * Secrets never leave the process in text: not in a log line, a failure message (which Temporal keeps in
 * the run's history), a tool result or a summary. `redactText` removes
 *  - every configured secret (registered once from the environment by loadConfig: AI_API_KEY,
 *    SUPABASE_SERVICE_ROLE_KEY, TEMPORAL_API_KEY, database passwords, …), wherever it appears;
 *  - anything shaped like a credential: `Bearer …`, `sk-…` keys (masked or not), this product's `di_…` API
 *    keys, JWTs, and passwords inside URLs.
 * Pure apart from the registry; safe in workflow code (the sandbox has an empty registry, patterns still
 * apply).
 */

const MIN_SECRET_LENGTH = 6;
const secrets = new Set<string>();

/** Remember values that must never be printed. Short values are ignored: they would redact ordinary words. */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const value of values) {
    if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
  }
}

const SECRET_NAME = /(KEY|KEYS|SECRET|PASSWORD|TOKEN|CREDENTIALS?)$/i;

/** The values of an environment that are secrets: by name, and the passwords inside its URLs. */
export function secretsOfEnvironment(env: Record<string, string | undefined>): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_NAME.test(name)) found.push(value);
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:([^@/\s]+)@/i.exec(value)?.[1];
    if (password) found.push(password, safeDecode(password));
  }
  return found;
}

const PATTERNS: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=*-]{4,}/gi, '$1 [redacted]'],
  [/\bsk-[A-Za-z0-9_*.-]{4,}/g, 'sk-[redacted]'],
  [/\bdi_[A-Za-z0-9_-]{8,}/g, 'di_[redacted]'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted JWT]'],
  [/\/\/([^:/@\s]+):([^@/\s]+)@/g, '//$1:***@'],
];

export function redactText(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
