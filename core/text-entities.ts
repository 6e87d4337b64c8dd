/**
 * Entity extraction for the heuristic analyser: dates (absolute, month names in four languages, and
 * relative ones such as "tomorrow" or "by Friday", resolved against the email's own date), money
 * amounts with their currency, people (greetings, signatures, the sender's name) and organisations
 * (names with a legal suffix). Pure functions: the same text and reference date give the same answer.
 */

const MONTHS: Record<string, number> = {};
for (const [i, names] of [
  'january jan januar janvier enero',
  'february feb februar février fevrier febrero',
  'march mar märz maerz mars marzo',
  'april apr avril abril',
  'may mai mayo',
  'june jun juni juin junio',
  'july jul juli juillet julio',
  'august aug août aout agosto',
  'september sep sept septembre septiembre',
  'october oct oktober octobre octubre',
  'november nov novembre noviembre',
  'december dec dezember décembre decembre diciembre',
].entries()) {
  for (const name of names.split(' ')) MONTHS[name] = i + 1;
}
const MONTH_NAMES = Object.keys(MONTHS)
  .sort((a, b) => b.length - a.length)
  .join('|');

const WEEKDAYS: Record<string, number> = {};
for (const [i, names] of [
  'sunday sonntag dimanche domingo',
  'monday montag lundi lunes',
  'tuesday dienstag mardi martes',
  'wednesday mittwoch mercredi miércoles miercoles',
  'thursday donnerstag jeudi jueves',
  'friday freitag vendredi viernes',
  'saturday samstag samedi sábado sabado',
].entries()) {
  for (const name of names.split(' ')) WEEKDAYS[name] = i;
}
const WEEKDAY_NAMES = Object.keys(WEEKDAYS).join('|');
const TOMORROW = 'tomorrow|morgen|demain|mañana|manana';
const TODAY = "today|tonight|heute|aujourd’hui|aujourd'hui|hoy|eod|end of day";

export interface FoundDate {
  iso: string;
  /** Where in the text it was found, to tie a date to the sentence it belongs to. */
  index: number;
}

function iso(y: number, m: number, d: number): string | null {
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
}

function addDays(ref: Date, days: number): string {
  return new Date(ref.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

/** A date without a year is the next such date on or after the reference date. */
function withYear(ref: Date, m: number, d: number): string | null {
  const y = ref.getUTCFullYear();
  const candidate = iso(y, m, d);
  if (candidate && candidate >= addDays(ref, -31)) return candidate;
  return iso(y + 1, m, d);
}

const DAY_MONTH = new RegExp(
  `\\b(\\d{1,2})(?:st|nd|rd|th|\\.)?\\s+(?:de\\s+)?(${MONTH_NAMES})\\.?(?:\\s+(?:de\\s+)?(\\d{4}))?\\b`,
  'giu',
);
const MONTH_DAY = new RegExp(
  `\\b(${MONTH_NAMES})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s+(\\d{4}))?`,
  'giu',
);
const TOMORROW_RE = new RegExp(`\\b(${TOMORROW})\\b`, 'giu');
const TODAY_RE = new RegExp(`(?:^|\\s)(${TODAY})\\b`, 'giu');
const WEEKDAY_RE = new RegExp(
  `\\b(?:by|on|next|this|until|bis|am|avant|le|à|el|para el|antes del?)\\s+(${WEEKDAY_NAMES})\\b`,
  'giu',
);

export function findDates(text: string, reference: Date, language: string): FoundDate[] {
  const found: FoundDate[] = [];
  const add = (value: string | null, index: number) => {
    if (value) found.push({ iso: value, index });
  };
  const scan = (pattern: RegExp, fn: (m: RegExpExecArray) => string | null) => {
    for (const m of text.matchAll(pattern)) add(fn(m as RegExpExecArray), m.index ?? 0);
  };
  scan(/\b(\d{4})-(\d{2})-(\d{2})\b/g, (m) => iso(+m[1]!, +m[2]!, +m[3]!));
  scan(/\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b/g, (m) => {
    const [a, b, y] = [+m[1]!, +m[2]!, +m[3]!];
    // 11/30/2026 is American, 30.11.2026 European; when both read as valid, the language decides.
    const dayFirst = a > 12 || (b <= 12 && language !== 'en');
    return dayFirst ? iso(y, b, a) : iso(y, a, b);
  });
  scan(DAY_MONTH, (m) => {
    const month = MONTHS[m[2]!.toLowerCase()]!;
    return m[3] ? iso(+m[3], month, +m[1]!) : withYear(reference, month, +m[1]!);
  });
  scan(MONTH_DAY, (m) => {
    const month = MONTHS[m[1]!.toLowerCase()]!;
    return m[3] ? iso(+m[3], month, +m[2]!) : withYear(reference, month, +m[2]!);
  });
  scan(TOMORROW_RE, () => addDays(reference, 1));
  scan(TODAY_RE, () => addDays(reference, 0));
  scan(WEEKDAY_RE, (m) => {
    const target = WEEKDAYS[m[1]!.toLowerCase()]!;
    const ahead = (target - reference.getUTCDay() + 7) % 7 || 7;
    return addDays(reference, ahead);
  });
  return found.sort((a, b) => a.index - b.index);
}

export interface FoundAmount {
  value: number;
  currency: string | null;
  index: number;
}

const SYMBOLS: Record<string, string> = { $: 'USD', '€': 'EUR', '£': 'GBP', '¥': 'JPY', '₹': 'INR' };
const CODES = 'USD|EUR|GBP|CHF|JPY|CAD|AUD|SEK|NOK|DKK|PLN|INR|CNY';
const NUMBER = '\\d{1,3}(?:[.,\\s]\\d{3})*(?:[.,]\\d{1,2})?|\\d+(?:[.,]\\d{1,2})?';

/** "1,234.56", "1.234,56", "45,00" and "1 200" all parse; the last separator with 1–2 digits is decimal. */
export function parseAmount(text: string): number {
  const compact = text.replace(/\s/g, '');
  const decimal = /[.,](\d{1,2})$/.exec(compact);
  const whole = (decimal ? compact.slice(0, decimal.index) : compact).replace(/[.,]/g, '');
  return Number(decimal ? `${whole}.${decimal[1]}` : whole);
}

export function findAmounts(text: string): FoundAmount[] {
  const found: FoundAmount[] = [];
  const before = new RegExp(`([$€£¥₹]|\\b(?:${CODES}))\\s?(${NUMBER})`, 'g');
  const after = new RegExp(`(${NUMBER})\\s?([$€£¥₹]|(?:${CODES})\\b|euros?\\b|dollars?\\b)`, 'gi');
  for (const m of text.matchAll(before)) {
    found.push({ value: parseAmount(m[2]!), currency: currencyOf(m[1]!), index: m.index ?? 0 });
  }
  for (const m of text.matchAll(after)) {
    const index = m.index ?? 0;
    if (found.some((f) => Math.abs(f.index - index) < m[0].length)) continue;
    found.push({ value: parseAmount(m[1]!), currency: currencyOf(m[2]!), index });
  }
  return found.filter((f) => Number.isFinite(f.value) && f.value > 0).sort((a, b) => a.index - b.index);
}

function currencyOf(token: string): string | null {
  const t = token.toUpperCase();
  if (SYMBOLS[token]) return SYMBOLS[token]!;
  if (t.startsWith('EURO')) return 'EUR';
  if (t.startsWith('DOLLAR')) return 'USD';
  return /^[A-Z]{3}$/.test(t) ? t : null;
}

const NAME = "\\p{Lu}[\\p{Ll}'’-]+(?:\\s\\p{Lu}[\\p{Ll}'’-]+)?";
const NAME_LINE = new RegExp(`^${NAME}$`, 'u');
const GREETING = new RegExp(
  `^(?:hi|hello|hey|dear|hallo|liebe|lieber|bonjour|salut|chère|cher|hola|querida|querido|ciao)\\s+(${NAME})\\s*[,!]`,
  'gimu',
);
const SIGN_OFF =
  /^(?:best|thanks|thank you|cheers|regards|best regards|kind regards|love|xoxo|viele grüße|beste grüße|gruß|grüße|liebe grüße|cordialement|bien à vous|merci|bises|saludos|un saludo|abrazos|atentamente|un abrazo)[,!.]?\s*$/i;
const ORG =
  /\b((?:\p{Lu}[\p{L}&-]*\s){0,3}\p{Lu}[\p{L}&-]*)\s(Inc|Ltd|LLC|GmbH|AG|SA|SAS|SARL|S\.A\.|Corp|Corporation|plc|Bank|Bros|Group|KG)\b\.?/gu;

export function findPeople(text: string, senderName: string | null): string[] {
  const people = new Set<string>();
  if (senderName && /^\p{Lu}/u.test(senderName) && !/[@\d]/.test(senderName)) people.add(senderName);
  for (const m of text.matchAll(GREETING)) people.add(m[1]!);
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  for (let i = 0; i < lines.length - 1; i++) {
    const next = lines[i + 1]!;
    if (SIGN_OFF.test(lines[i]!) && NAME_LINE.test(next)) people.add(next);
  }
  return [...people].filter((p) => !/^(team|all|everyone|there|support|admin)$/i.test(p)).slice(0, 20);
}

export function findOrgs(text: string): string[] {
  const orgs = new Set<string>();
  for (const m of text.matchAll(ORG)) orgs.add(`${m[1]} ${m[2]}`.trim());
  return [...orgs].slice(0, 20);
}
