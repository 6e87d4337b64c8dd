/**
 * What a file's bytes are, for the bucket rules, when magic numbers (file-type) say nothing or only
 * "some XML". A declared type is a claim, not evidence: HTML declared `image/png` is HTML. So the bytes
 * are classified from their first few KiB:
 * - **active content** (a browser runs scripts in it): SVG, HTML (the WHATWG sniffing patterns at the
 *   start: `<!DOCTYPE HTML`, `<html`, `<script`, `<body`, …) and other XML;
 * - **text**: valid UTF-8 without NUL or other control bytes (tab, newline, form feed and carriage
 *   return allowed): `text/plain`;
 * - **binary**: anything else: `application/octet-stream`.
 * A declared type refines text or binary when it could be true: not active, of a family the class
 * allows (`text/`, `message/` or `application/` for text; `application/` or `message/` for binary),
 * and not a type sniffing would have recognised (a "PDF" file-type did not find is no PDF). So
 * `text/csv`, `message/rfc822` and `application/x-yaml` keep their names; `image/png` never does.
 * Active content passes a rule only when the rule names its type exactly (or allows everything):
 * `image/*` is never enough for an SVG. Pure: no I/O.
 */

export type ContentClass = 'known' | 'active' | 'text' | 'binary';

export interface ContentType {
  /** The type the rules check and the row records. */
  mime: string;
  /** `known`: file-type recognised the bytes; otherwise what the classification found. */
  class: ContentClass;
}

/** Types a browser renders with scripts, when served as themselves. */
export const ACTIVE_TYPES: ReadonlySet<string> = new Set([
  'image/svg+xml',
  'text/html',
  'application/xhtml+xml',
  'application/xml',
  'text/xml',
  'text/javascript',
  'application/javascript',
  'application/ecmascript',
  'text/ecmascript',
  'application/x-shockwave-flash',
]);

/** How active content is served: never rendered inline, never as itself. */
export const ACTIVE_SERVED_TYPE = 'application/octet-stream';

/** The WHATWG MIME Sniffing Standard's HTML patterns (§7.1), each followed by a space or `>`. */
const HTML_TAGS = [
  '!doctype html',
  'html',
  'head',
  'script',
  'iframe',
  'h1',
  'div',
  'font',
  'table',
  'a',
  'style',
  'title',
  'b',
  'body',
  'br',
  'p',
  '!--',
];

const strict = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 without NUL and C0/C1 controls except \t \n \f \r; a sequence cut by the head's end is fine. */
function isText(head: Buffer, truncated: boolean): string | null {
  let bytes = head;
  if (truncated) {
    // Drop an incomplete multi-byte sequence at the cut (at most 3 continuation bytes back).
    let i = bytes.length - 1;
    while (i > 0 && i >= bytes.length - 3 && (bytes[i]! & 0xc0) === 0x80) i--;
    const lead = bytes[i] ?? 0;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (bytes.length - i < need) bytes = bytes.subarray(0, i);
  }
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return null;
  }
  return /(?![\t\n\f\r])\p{Cc}/u.test(text) ? null : text;
}

/** Comments, processing instructions and the doctype before an XML document's root element. */
const XML_PROLOG = /^(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!doctype[^>[]*(?:\[[\s\S]*?\])?\s*>)*/i;

/** `text` opens with `<tag` followed by whitespace, `>` or `/` (`<!--` needs nothing after it). */
const opensWith = (text: string, tag: string): boolean =>
  text.startsWith(`<${tag}`) && (tag === '!--' || /^[\s>/]/.test(text.slice(tag.length + 1)));

function activeType(text: string): string | null {
  const lower = text
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  const xml = lower.startsWith('<?xml');
  // The first element, past any prolog, comments and doctype.
  const root = lower.replace(XML_PROLOG, '');
  if (opensWith(root, 'svg')) return 'image/svg+xml';
  if (opensWith(root, 'html')) return xml ? 'application/xhtml+xml' : 'text/html';
  if (!xml && HTML_TAGS.some((tag) => opensWith(lower, tag) || opensWith(root, tag))) return 'text/html';
  if (xml || (root !== lower && /^<[a-z]/.test(root))) return 'application/xml';
  return null;
}

const REFINING_FAMILIES = { text: ['text', 'message', 'application'], binary: ['application', 'message'] };

/** The declared type, when it may name bytes of this class (see the header); else null. */
function refined(
  declared: string | null,
  cls: 'text' | 'binary',
  sniffable: ReadonlySet<string>,
): string | null {
  if (!declared || ACTIVE_TYPES.has(declared) || sniffable.has(declared)) return null;
  return REFINING_FAMILIES[cls].includes(declared.split('/')[0]!) ? declared : null;
}

/**
 * The type of the bytes: file-type's answer when it has one (other than plain XML), else the class.
 * `head` is the first bytes read; `truncated` says whether the file goes on beyond them; `sniffable`
 * the types the sniffer recognises (file-type's supportedMimeTypes).
 */
export function classifyContent(
  head: Buffer,
  truncated: boolean,
  sniffed: string | null,
  declared: string | null,
  sniffable: ReadonlySet<string> = new Set(),
): ContentType {
  if (sniffed && sniffed !== 'application/xml') return { mime: sniffed, class: 'known' };
  const text = isText(head, truncated);
  if (text === null) {
    if (sniffed) return { mime: sniffed, class: 'active' };
    return { mime: refined(declared, 'binary', sniffable) ?? 'application/octet-stream', class: 'binary' };
  }
  const active = activeType(text) ?? sniffed;
  if (active) return { mime: active, class: 'active' };
  return { mime: refined(declared, 'text', sniffable) ?? 'text/plain', class: 'text' };
}

/** Does `mime` match one of the patterns? Empty or null allows everything; active content needs its exact
 * type (or `*\/*`), never a `type/*` wildcard. */
export function typeAllowed(type: ContentType, allowed: readonly string[] | null): boolean {
  if (!allowed || allowed.length === 0) return true;
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === '*/*' || p === type.mime) return true;
    return type.class !== 'active' && p.endsWith('/*') && type.mime.startsWith(p.slice(0, -1));
  });
}

/** Is the type active content (stored to be downloaded, never rendered)? */
export function isActive(type: ContentType): boolean {
  return type.class === 'active' || ACTIVE_TYPES.has(type.mime);
}
