import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import { describe, expect, it } from 'vitest';
import { type ContentType, classifyContent, typeAllowed } from '../../core/content-class.js';

/** As the upload's inspection calls it: file-type first, then the classification. */
async function classify(bytes: Buffer | string, declared: string | null = null): Promise<ContentType> {
  const head = Buffer.from(bytes);
  return classifyContent(
    head,
    false,
    (await fileTypeFromBuffer(head))?.mime ?? null,
    declared,
    supportedMimeTypes,
  );
}

const SVG_SCRIPT =
  '<?xml version="1.0"?>\n<!-- logo -->\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>';

describe('classifying bytes that file-type does not recognise', () => {
  it.each([
    [
      'HTML declared image/png',
      '<!DOCTYPE html><html><body><script>alert(1)</script>',
      'image/png',
      'text/html',
      'active',
    ],
    [
      'HTML after whitespace and a BOM',
      '\uFEFF  \n<html lang="en">hi</html>',
      'image/png',
      'text/html',
      'active',
    ],
    ['a bare script', '<script>fetch("/")</script>', null, 'text/html', 'active'],
    [
      'HTML after a comment',
      '<!-- saved page --><div onclick="x()">hi</div>',
      'image/gif',
      'text/html',
      'active',
    ],
    [
      'HTML after its doctype on a line of its own',
      '<!doctype html>\n<title>t</title>',
      null,
      'text/html',
      'active',
    ],
    [
      'an SVG after a doctype and a comment',
      '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<!-- c --><svg/>',
      null,
      'image/svg+xml',
      'active',
    ],
    [
      'an SVG with a prolog, comment, onload and script',
      SVG_SCRIPT,
      'image/svg+xml',
      'image/svg+xml',
      'active',
    ],
    ['an SVG without a prolog', '<svg onload="x()"/>', 'image/png', 'image/svg+xml', 'active'],
    [
      'XHTML',
      '<?xml version="1.0"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"/>',
      null,
      'application/xhtml+xml',
      'active',
    ],
    ['other XML', '<?xml version="1.0"?><feed/>', 'text/plain', 'application/xml', 'active'],
    ['plain text declared image/png', 'just words, not a picture', 'image/png', 'text/plain', 'text'],
    ['CSV declared text/csv keeps its subtype', 'a,b\n1,2\n', 'text/csv', 'text/csv', 'text'],
    [
      'an email declared message/rfc822 keeps it',
      'From: a@x\r\nSubject: hi\r\n\r\nbody',
      'message/rfc822',
      'message/rfc822',
      'text',
    ],
    [
      'YAML declared application/x-yaml keeps it',
      'a: 1\nb: [2, 3]\n',
      'application/x-yaml',
      'application/x-yaml',
      'text',
    ],
    [
      'text declared application/pdf is no PDF (file-type would know one)',
      'not a pdf',
      'application/pdf',
      'text/plain',
      'text',
    ],
    [
      'text declared text/calendar is no calendar (file-type would know one)',
      'hello',
      'text/calendar',
      'text/plain',
      'text',
    ],
    [
      '8-bit email declared message/rfc822 keeps it',
      Buffer.from('Subject: caf\xe9\r\n\r\n\xe9t\xe9', 'latin1'),
      'message/rfc822',
      'message/rfc822',
      'binary',
    ],
    ['text declared text/html is not HTML by its bytes', 'no markup here', 'text/html', 'text/plain', 'text'],
    ['UTF-8 with accents', 'Résumé – 2026\r\n\tfin\f', null, 'text/plain', 'text'],
    [
      'binary (NUL bytes) declared image/png',
      Buffer.from([0, 1, 2, 3, 250, 251]),
      'image/png',
      'application/octet-stream',
      'binary',
    ],
    [
      'binary declared as an application type keeps it',
      Buffer.from([0, 1, 2, 3]),
      'application/x-custom',
      'application/x-custom',
      'binary',
    ],
    ['invalid UTF-8', Buffer.from([0xc3, 0x28, 0x41]), null, 'application/octet-stream', 'binary'],
    ['text with an escape byte', 'colour \u001b[31mred', null, 'application/octet-stream', 'binary'],
  ])('%s', async (_what, bytes, declared, mime, cls) => {
    expect(await classify(bytes, declared)).toEqual({ mime, class: cls });
  });

  it('a multi-byte character cut at the end of the sniffed head is still text', () => {
    const head = Buffer.from('ab€').subarray(0, 4); // "ab" and 2 of the euro sign's 3 bytes
    expect(classifyContent(head, true, null, null)).toEqual({ mime: 'text/plain', class: 'text' });
    expect(classifyContent(head, false, null, null).class).toBe('binary');
  });

  it('recognised formats keep file-type’s answer', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    expect(await classify(png, 'image/jpeg')).toEqual({ mime: 'image/png', class: 'known' });
  });
});

describe('rules against the classified type', () => {
  const svg = { mime: 'image/svg+xml', class: 'active' } as const;
  const html = { mime: 'text/html', class: 'active' } as const;
  const png = { mime: 'image/png', class: 'known' } as const;
  it.each([
    [png, ['image/*'], true],
    [svg, ['image/*'], false],
    [svg, ['image/svg+xml'], true],
    [svg, ['image/png', 'IMAGE/SVG+XML'], true],
    [html, ['text/*'], false],
    [html, ['*/*'], true],
    [html, null, true],
    [html, [], true],
    [{ mime: 'text/plain', class: 'text' } as const, ['image/*'], false],
    [{ mime: 'text/csv', class: 'text' } as const, ['text/*'], true],
  ])('%j under %j: %s', (type, rules, ok) => {
    expect(typeAllowed(type, rules)).toBe(ok);
  });
});
