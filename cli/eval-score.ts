// Scoring of `npm run eval` tasks: contains_any (case-insensitive substring) and text (1 − character error rate).

export type Expect = { contains_any: string[] } | { text: string };

/** Lowercase and collapse runs of whitespace into one space, trimmed. */
export function normalizeText(s: string): string {
  return s.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Levenshtein distance between two strings, counted in code points (an accented letter counts once). */
export function editDistance(a: string, b: string): number {
  const x = [...a], y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}

/** contains_any → 1 if the reply contains one of the strings (case-insensitive), else 0; text → max(0, 1 − CER). */
export function scoreReply(expect: Expect, reply: string): number {
  if ('contains_any' in expect) {
    const r = reply.toLowerCase();
    return expect.contains_any.some((s) => r.includes(s.toLowerCase())) ? 1 : 0;
  }
  if ('text' in expect) {
    const ref = normalizeText(expect.text), hyp = normalizeText(reply);
    const cer = editDistance(ref, hyp) / Math.max(1, [...ref].length);
    return Math.max(0, 1 - cer);
  }
  throw new Error(`unknown expectation ${JSON.stringify(expect)}: use {"contains_any": [...]} or {"text": "..."}`);
}
