/**
 * The zero-key analyser: rules and keyword scoring, deterministic, no network. It produces the same
 * schema as the LLM providers (core/analysis.ts), so everything downstream (storage, metrics, rollouts)
 * treats it as one more provider.
 *
 * How it decides: hard signals first (spam markers; List-Unsubscribe and bulk headers for newsletters;
 * machine senders and Auto-Submitted for notifications), then keyword scores per category in English,
 * German, French and Spanish. Priority, urgency and reply_needed follow from the category and from what
 * the text asks of the reader; dates and amounts come from text-entities.ts.
 */
import {
  type Analysis,
  AnalysisSchema,
  type Category,
  type EmailForAnalysis,
  plainTextBody,
} from './analysis.js';
import { findAmounts, findDates, findOrgs, findPeople } from './text-entities.js';
import { detectLanguage } from './text-language.js';

type Scored = Exclude<Category, 'spam' | 'newsletter' | 'other'>;

const KEYWORDS: Record<Scored, string[]> = {
  finance: [
    'invoice',
    'payment',
    'receipt',
    'statement',
    'bank',
    'transfer',
    'tax',
    'payroll',
    'amount due',
    'balance',
    'billing',
    'expense',
    'reimbursement',
    'rechnung',
    'zahlung',
    'überweisung',
    'kontoauszug',
    'facture',
    'paiement',
    'virement',
    'factura',
    'pago',
    'transferencia',
    'recibo',
  ],
  support: [
    'ticket',
    'case #',
    'support',
    'not working',
    'does not work',
    "doesn't work",
    'bug',
    'error',
    'broken',
    'complaint',
    'problem',
    'issue',
    'cannot log in',
    "can't log in",
    'refund',
    'störung',
    'funktioniert nicht',
    'problème',
    'ne fonctionne pas',
    'no funciona',
    'soporte',
    'incidencia',
    'reclamación',
  ],
  notification: [
    'alert',
    'your order',
    'has shipped',
    'password',
    'sign-in',
    'new login',
    'verification code',
    'build failed',
    'build passed',
    'reminder',
    'disk usage',
    'deployed',
    'notification',
    'automated message',
    'do not reply',
    'your package',
    'security code',
    'versandt',
    'commande',
    'pedido',
  ],
  work: [
    'meeting',
    'project',
    'deadline',
    'report',
    'review',
    'agenda',
    'client',
    'proposal',
    'contract',
    'quarter',
    'budget',
    'presentation',
    'sprint',
    'release',
    'roadmap',
    'slides',
    'stakeholder',
    '会議',
    '資料',
    'プロジェクト',
    '予算',
    '締め切り',
    'besprechung',
    'projekt',
    'termin',
    'angebot',
    'réunion',
    'projet',
    'dossier',
    'reunión',
    'proyecto',
    'informe',
    'cliente',
  ],
  personal: [
    'dinner',
    'birthday',
    'weekend',
    'family',
    'mom',
    'dad',
    'love',
    'kids',
    'party',
    'vacation',
    'holiday',
    'photos',
    'wedding',
    'miss you',
    'grandma',
    'barbecue',
    'geburtstag',
    'familie',
    'wochenende',
    'anniversaire',
    'famille',
    'vacances',
    'bisous',
    'cumpleaños',
    'familia',
    'fin de semana',
    'abrazos',
  ],
};

const SPAM_PHRASES = [
  'you have won',
  "you've won",
  'winner',
  'lottery',
  'claim your prize',
  'claim your reward',
  '100% free',
  'act now',
  'limited time',
  'click here',
  'inheritance',
  'beneficiary',
  'bitcoin',
  'crypto investment',
  'viagra',
  'casino',
  'risk-free',
  'double your',
  'gift card',
  'sie haben gewonnen',
  'vous avez gagné',
  'ha ganado',
  'verify your account immediately',
  'wire the fee',
  'guaranteed income',
];
const UNSUBSCRIBE = [
  'unsubscribe',
  'abmelden',
  'abbestellen',
  'se désabonner',
  'désinscrire',
  'darse de baja',
  'cancelar suscripción',
  'manage preferences',
];
const URGENT = [
  'urgent',
  'asap',
  'immediately',
  'as soon as possible',
  'critical',
  'outage',
  'is down',
  'action required',
  'final notice',
  'overdue',
  'dringend',
  'sofort',
  'umgehend',
  'urgente',
  'inmediatamente',
  'immédiatement',
  'en urgence',
];
const POSITIVE = [
  'thanks',
  'thank you',
  'great',
  'happy',
  'glad',
  'love',
  'excellent',
  'congrat',
  'pleased',
  'wonderful',
  'awesome',
  'danke',
  'freue',
  'super',
  'merci',
  'ravi',
  'génial',
  'gracias',
  'genial',
  'encantad',
];
const NEGATIVE = [
  'unfortunately',
  'problem',
  'issue',
  'angry',
  'disappointed',
  'failed',
  'failure',
  'error',
  'complaint',
  'not working',
  'overdue',
  'outage',
  'down',
  'sorry',
  'leider',
  'ärgerlich',
  'malheureusement',
  'déçu',
  'lamentablemente',
  'molesto',
  'unacceptable',
];
const REPLY_REQUEST = [
  'let me know',
  'please confirm',
  'can you',
  'could you',
  'would you',
  'are you',
  'do you',
  'rsvp',
  'get back to me',
  'your thoughts',
  'please reply',
  'please advise',
  'kannst du',
  'könnten sie',
  'können sie',
  'gib mir bescheid',
  'pourriez-vous',
  'peux-tu',
  'pouvez-vous',
  'tiens-moi au courant',
  'podrías',
  'puedes',
  'podría',
  'avísame',
];
const REQUEST = [
  'please',
  'could you',
  'can you',
  'would you',
  'need you to',
  'make sure',
  "don't forget",
  'remember to',
  'bitte',
  'merci de',
  'veuillez',
  'pourriez-vous',
  'por favor',
  'podrías',
  'kannst du',
];
const MACHINE_SENDER =
  /^(no-?reply|do-?not-?reply|notifications?|alerts?|notify|mailer-daemon|system|monitoring|builds?|ci|automated|info|updates?|service)([+.-].*)?$/i;

export function analyseHeuristically(email: EmailForAnalysis): Analysis {
  const body = plainTextBody(email);
  const subject = email.subject ?? '';
  const text = `${subject}\n${body}`;
  const lower = text.toLowerCase();
  const language = detectLanguage(body.trim() === '' ? subject : body);
  const reference = email.sentAt ? new Date(email.sentAt) : new Date(Date.UTC(2000, 0, 1));

  const dates = findDates(text, reference, language);
  const amounts = findAmounts(text);
  const { category, margin } = categorise(email, lower, amounts.length > 0);

  const urgent = URGENT.some((w) => lower.includes(w));
  // Only the sender's own words ask anything of the reader; a quoted earlier message does not.
  const own = stripQuoted(body);
  const ownSentences = sentences(own);
  const asksForReply =
    ownSentences.some((s) => /[?？]\s*$/.test(s) || s.startsWith('¿')) ||
    count(own.toLowerCase(), REPLY_REQUEST) > 0;
  const replyNeeded = ['work', 'personal', 'support'].includes(category) && asksForReply;

  const positives = count(lower, POSITIVE);
  const negatives = count(lower, NEGATIVE);
  const sentiment = positives > negatives ? 'positive' : negatives > positives ? 'negative' : 'neutral';
  const urgency = urgent ? 'high' : ['spam', 'newsletter', 'other'].includes(category) ? 'low' : 'normal';

  const actionItems = ['spam', 'newsletter'].includes(category)
    ? []
    : ownSentences
        .filter((s) => REQUEST.some((w) => s.toLowerCase().includes(w)))
        .slice(0, 10)
        .map((s) => ({
          description: s.slice(0, 300),
          due_date: findDates(s, reference, language)[0]?.iso ?? null,
        }));

  return AnalysisSchema.parse({
    category,
    priority: priorityOf(category, urgent, replyNeeded),
    sentiment,
    urgency,
    summary: summarise(subject, ownSentences),
    action_items: actionItems,
    entities: {
      people: findPeople(body, email.from?.name ?? null),
      orgs: findOrgs(text),
      dates: [...new Set(dates.map((d) => d.iso))].slice(0, 20),
      amounts: dedupeAmounts(amounts).slice(0, 20),
    },
    language,
    reply_needed: replyNeeded,
    confidence: Math.round(Math.min(0.95, 0.4 + 0.1 * margin) * 100) / 100,
  });
}

function categorise(
  email: EmailForAnalysis,
  lower: string,
  hasAmounts: boolean,
): { category: Category; margin: number } {
  const header = (name: string) => (email.headers[name] ?? []).join(' ').toLowerCase();
  const sender = email.from?.address ?? '';
  const [local = '', domain = ''] = sender.split('@');

  let spam = count(lower, SPAM_PHRASES) * 2;
  if (/yes/.test(header('x-spam-flag')) || /^yes/.test(header('x-spam-status'))) spam += 4;
  const replyTo = header('reply-to');
  if (replyTo.includes('@') && domain && !replyTo.includes(domain)) spam += 1;
  const subject = email.subject ?? '';
  const letters = subject.replace(/[^\p{L}]/gu, '');
  if (letters.length >= 10 && letters === letters.toUpperCase() && /\p{Lu}/u.test(letters)) spam += 2;
  if (/!{2,}|\${2,}/.test(subject)) spam += 1;
  if (spam >= 3) return { category: 'spam', margin: spam - 2 };

  let newsletter = count(lower, UNSUBSCRIBE) * 2;
  if (header('list-unsubscribe')) newsletter += 3;
  if (header('list-id')) newsletter += 1;
  if (/bulk|list/.test(header('precedence'))) newsletter += 1;
  if (/newsletter|digest|this week in|weekly|roundup/.test(lower)) newsletter += 1;
  if (newsletter >= 3) return { category: 'newsletter', margin: newsletter - 2 };

  const scores: Record<Scored, number> = {
    finance: count(lower, KEYWORDS.finance) + (hasAmounts ? 1 : 0),
    support: count(lower, KEYWORDS.support) + (/^(support|help|helpdesk|service)/.test(local) ? 2 : 0),
    notification:
      count(lower, KEYWORDS.notification) +
      (MACHINE_SENDER.test(local) ? 2 : 0) +
      (/auto-generated|auto-replied/.test(header('auto-submitted')) ? 2 : 0),
    work: count(lower, KEYWORDS.work),
    personal: count(lower, KEYWORDS.personal),
  };
  const ranked = (Object.entries(scores) as [Scored, number][]).sort((a, b) => b[1] - a[1]);
  const [top, second] = ranked;
  if (!top || top[1] === 0) return { category: 'other', margin: 0 };
  return { category: top[0], margin: top[1] - (second?.[1] ?? 0) };
}

function priorityOf(category: Category, urgent: boolean, replyNeeded: boolean): number {
  const base: Record<Category, number> = {
    spam: 1,
    newsletter: 1,
    other: 2,
    notification: 2,
    personal: 3,
    work: 3,
    finance: 3,
    support: 3,
  };
  let priority = base[category];
  if (urgent) priority += 2;
  // Someone at work (or a customer) waiting for an answer outranks news of the same kind.
  if (replyNeeded && (category === 'work' || category === 'support')) priority += 1;
  return Math.max(1, Math.min(5, priority));
}

/** The sender's own words: no quoted reply (`> …`, "On … wrote:") and no signature (`-- `). */
function stripQuoted(body: string): string {
  const lines: string[] = [];
  for (const line of body.split(/\r?\n/)) {
    if (/^-- ?$/.test(line) || /^(On|Am|Le|El) .+(wrote|schrieb|a écrit|escribió) ?:$/.test(line.trim()))
      break;
    if (!line.trimStart().startsWith('>')) lines.push(line);
  }
  return lines.join('\n');
}

const GREETING_LINE =
  /^(hi|hello|hey|dear|hallo|liebe|lieber|guten tag|bonjour|salut|cher|chère|hola|querid[oa]|estimad[oa])\b[^.!?]{0,40}[,!:]?$/i;

function sentences(text: string): string[] {
  return text
    .split(/\n\s*\n|(?<=[.!?。！？])\s+/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length > 2 && !GREETING_LINE.test(s) && !/^[\p{P}\p{S}\s]+$/u.test(s));
}

function summarise(subject: string, own: string[]): string {
  const picked: string[] = [];
  for (const s of own) {
    if (picked.length === 2) break;
    // Make each piece one sentence that ends like one, so the 3-sentence rule holds.
    const sentence = s.replace(/[.!?。！？]*$/, '').replace(/[.!?。！？]+(?=\s)/g, ',');
    if (sentence.length > 0) picked.push(`${sentence.slice(0, 280)}.`);
  }
  if (picked.length === 0) return subject.trim() === '' ? '(empty message).' : `${subject.slice(0, 280)}.`;
  return picked.join(' ');
}

const patterns = new Map<string, RegExp>();

/** How many of `words` occur in `text`, each at the start of a word (so "tax" does not match "syntax"). */
function count(text: string, words: string[]): number {
  let n = 0;
  for (const word of words) {
    let pattern = patterns.get(word);
    if (!pattern) {
      // Scripts without spaces between words (Japanese, Chinese) have no word starts to anchor on.
      const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      pattern = new RegExp(/^\p{Script=Latin}/u.test(word) ? `(?<!\\p{L})${escaped}` : escaped, 'u');
      patterns.set(word, pattern);
    }
    if (pattern.test(text)) n++;
  }
  return n;
}

function dedupeAmounts(amounts: { value: number; currency: string | null }[]) {
  const seen = new Set<string>();
  const out: { value: number; currency: string | null }[] = [];
  for (const { value, currency } of amounts) {
    const key = `${value}/${currency}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ value, currency });
  }
  return out;
}
