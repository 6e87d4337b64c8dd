/**
 * File names as they are stored and shown: without the characters that make a name read as something
 * it is not. Control characters (C0, DEL, C1), format characters (bidi embeddings, overrides and
 * isolates such as U+202E, which makes `invoice\u202Efdp.exe` read as `invoiceexe.pdf`; zero-width
 * characters; the BOM) and line or paragraph separators are removed. Pure: no I/O.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

export function visibleFileName(name: string): string {
  return name.replace(INVISIBLE, '');
}
