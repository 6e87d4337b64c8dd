/**
 * Language detection for the heuristic analyser: the writing system first (it settles Japanese,
 * Chinese, Korean, Russian, Arabic, Greek outright), then stop-word counts for the Latin-script
 * languages. Deterministic and dependency-free; good enough to route and label, not a linguistics tool.
 */

const STOP_WORDS: Record<string, string[]> = {
  en: [
    'the',
    'and',
    'is',
    'are',
    'you',
    'to',
    'of',
    'for',
    'we',
    'this',
    'that',
    'with',
    'please',
    'your',
    'have',
    'will',
    'be',
    'on',
    'it',
    'in',
  ],
  de: [
    'der',
    'die',
    'das',
    'und',
    'ist',
    'sie',
    'wir',
    'ich',
    'nicht',
    'mit',
    'für',
    'bitte',
    'ein',
    'eine',
    'auf',
    'zu',
    'den',
    'dem',
    'sind',
    'ihre',
    'noch',
    'auch',
  ],
  fr: [
    'le',
    'la',
    'les',
    'et',
    'est',
    'vous',
    'nous',
    'je',
    'pas',
    'pour',
    'avec',
    'une',
    'des',
    'du',
    'merci',
    'que',
    'qui',
    'sur',
    'votre',
    'dans',
    'bien',
    'au',
  ],
  es: [
    'el',
    'los',
    'las',
    'y',
    'es',
    'usted',
    'nosotros',
    'para',
    'con',
    'una',
    'por',
    'favor',
    'que',
    'del',
    'su',
    'gracias',
    'está',
    'hola',
    'muy',
    'pero',
    'como',
  ],
  it: [
    'il',
    'gli',
    'e',
    'è',
    'sono',
    'per',
    'con',
    'una',
    'che',
    'non',
    'grazie',
    'della',
    'ciao',
    'questo',
    'anche',
    'nel',
    'alla',
  ],
  pt: [
    'o',
    'os',
    'as',
    'e',
    'é',
    'você',
    'para',
    'com',
    'uma',
    'por',
    'favor',
    'que',
    'não',
    'obrigado',
    'obrigada',
    'olá',
    'muito',
    'seu',
    'sua',
  ],
  nl: [
    'de',
    'het',
    'een',
    'en',
    'is',
    'zijn',
    'wij',
    'ik',
    'niet',
    'met',
    'voor',
    'alstublieft',
    'bedankt',
    'van',
    'op',
    'dat',
    'je',
    'u',
  ],
};

const SCRIPTS: [RegExp, string][] = [
  [/[\u3040-\u30ff]/gu, 'ja'], // hiragana / katakana
  [/[\uac00-\ud7af]/gu, 'ko'],
  [/[\u4e00-\u9fff]/gu, 'zh'],
  [/[\u0400-\u04ff]/gu, 'ru'],
  [/[\u0600-\u06ff]/gu, 'ar'],
  [/[\u0370-\u03ff]/gu, 'el'],
];

/** ISO 639-1 code of the dominant language of `text`; `en` when there is nothing to go on. */
export function detectLanguage(text: string): string {
  const letters = text.replace(/[\s\d\p{P}\p{S}]/gu, '').length;
  if (letters === 0) return 'en';
  for (const [pattern, code] of SCRIPTS) {
    const count = text.match(pattern)?.length ?? 0;
    // Japanese mixes kana with kanji: a little kana is enough to tell it from Chinese.
    const share = code === 'ja' ? 0.05 : 0.2;
    if (count / letters >= share) return code;
  }
  const words = text.toLowerCase().match(/\p{L}+/gu) ?? [];
  let best = 'en';
  let bestScore = 0;
  for (const [code, list] of Object.entries(STOP_WORDS)) {
    const set = new Set(list);
    const score = words.reduce((n, w) => n + (set.has(w) ? 1 : 0), 0);
    if (score > bestScore) {
      best = code;
      bestScore = score;
    }
  }
  return best;
}
