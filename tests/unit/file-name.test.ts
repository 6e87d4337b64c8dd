import { describe, expect, it } from 'vitest';
import { safeAttachmentName } from '../../core/attachments.js';
import { visibleFileName } from '../../core/file-name.js';

describe('visibleFileName', () => {
  it.each([
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['a\u2066b\u2069c\u200Ed\u200Fe', 'abcde'],
    ['zero\u200Bwidth\uFEFF.txt', 'zerowidth.txt'],
    ['tab\there\u0085\u009b.txt', 'tabhere.txt'],
    ['line\u2028para\u2029.txt', 'linepara.txt'],
    ['Résumé 2026.pdf', 'Résumé 2026.pdf'],
  ])('%j becomes %j', (name, clean) => {
    expect(visibleFileName(name)).toBe(clean);
  });

  it('attachment names lose them too', () => {
    expect(safeAttachmentName('invoice\u202Efdp.exe', 0)).toBe('invoicefdp.exe');
    expect(safeAttachmentName('\u202E\u200B', 2)).toBe('attachment-3');
  });
});
