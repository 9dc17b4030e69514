/**
 * Scores of the quality benchmark.
 *
 * - presence: the normalised answer occurs, as whole words, in the normalised context;
 * - answer-word recall: the share of the answer's content words (stemmed) found in the context;
 * - F1 (the real-model mode): LoCoMo's token F1 between a model's answer and the expected one,
 *   after lower-casing, dropping punctuation and articles and Porter-stemming each word;
 *   multi-hop answers are compared part by part (comma-separated), open-domain ones on their
 *   first `;` alternative, and an adversarial question scores 1 when the model says the
 *   conversation does not hold the answer.
 */

const ARTICLES = new Set(["a", "an", "the", "and"])

const STOPWORDS = new Set([
  ...ARTICLES,
  "of",
  "to",
  "in",
  "on",
  "at",
  "for",
  "with",
  "by",
  "from",
  "is",
  "was",
  "are",
  "were",
  "be",
  "it",
  "its",
  "her",
  "his",
  "their",
  "she",
  "he",
  "they",
  "that",
  "this",
  "or",
  "as",
  "about",
  "into"
])

/** Lower-case words and numbers, punctuation dropped (`€1,250` → `1 250`, a path → its parts). */
export const words = (text: string): Array<string> =>
  text.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").match(/[\p{L}\p{N}]+/gu) ?? []

/** Words without articles, as LoCoMo's `normalize_answer` leaves them. */
export const normalised = (text: string): Array<string> => words(text).filter((w) => !ARTICLES.has(w))

// ---------------------------------------------------------------------------------------------
// Porter stemmer (M. F. Porter, 1980: "An algorithm for suffix stripping")
// ---------------------------------------------------------------------------------------------

const isConsonant = (word: string, i: number): boolean => {
  const c = word[i]!
  if ("aeiou".includes(c)) return false
  if (c === "y") return i === 0 ? true : !isConsonant(word, i - 1)
  return true
}

/** m: the number of vowel–consonant sequences in `stem`. */
const measure = (stem: string): number => {
  let m = 0
  let i = 0
  while (i < stem.length && isConsonant(stem, i)) i++
  while (i < stem.length) {
    while (i < stem.length && !isConsonant(stem, i)) i++
    if (i >= stem.length) break
    while (i < stem.length && isConsonant(stem, i)) i++
    m++
  }
  return m
}

const hasVowel = (stem: string): boolean => [...stem].some((_, i) => !isConsonant(stem, i))

const endsDouble = (word: string): boolean =>
  word.length >= 2 && word[word.length - 1] === word[word.length - 2] && isConsonant(word, word.length - 1)

/** *o: consonant–vowel–consonant at the end, the last not w, x or y. */
const endsCvc = (word: string): boolean => {
  const n = word.length
  return n >= 3 && isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1) &&
    !"wxy".includes(word[n - 1]!)
}

/** Replaces the first matching suffix whose stem satisfies `when`; unchanged when none does. */
const replaceSuffix = (
  word: string,
  rules: ReadonlyArray<readonly [string, string]>,
  when: (stem: string) => boolean
): string => {
  for (const [suffix, replacement] of rules) {
    if (!word.endsWith(suffix)) continue
    const stem = word.slice(0, word.length - suffix.length)
    return when(stem) ? stem + replacement : word
  }
  return word
}

const STEP2: ReadonlyArray<readonly [string, string]> = [
  ["ational", "ate"],
  ["tional", "tion"],
  ["enci", "ence"],
  ["anci", "ance"],
  ["izer", "ize"],
  ["bli", "ble"],
  ["alli", "al"],
  ["entli", "ent"],
  ["eli", "e"],
  ["ousli", "ous"],
  ["ization", "ize"],
  ["ation", "ate"],
  ["ator", "ate"],
  ["alism", "al"],
  ["iveness", "ive"],
  ["fulness", "ful"],
  ["ousness", "ous"],
  ["aliti", "al"],
  ["iviti", "ive"],
  ["biliti", "ble"],
  ["logi", "log"]
]
const STEP3: ReadonlyArray<readonly [string, string]> = [
  ["icate", "ic"],
  ["ative", ""],
  ["alize", "al"],
  ["iciti", "ic"],
  ["ical", "ic"],
  ["ful", ""],
  ["ness", ""]
]
const STEP4 = [
  "al",
  "ance",
  "ence",
  "er",
  "ic",
  "able",
  "ible",
  "ant",
  "ement",
  "ment",
  "ent",
  "ion",
  "ou",
  "ism",
  "ate",
  "iti",
  "ous",
  "ive",
  "ize"
]

export const stem = (input: string): string => {
  if (input.length <= 2 || !/^[a-z]+$/.test(input)) return input
  let w = input
  // Step 1a
  if (w.endsWith("sses")) w = w.slice(0, -2)
  else if (w.endsWith("ies")) w = w.slice(0, -2)
  else if (!w.endsWith("ss") && w.endsWith("s")) w = w.slice(0, -1)
  // Step 1b
  let cleanup = false
  if (w.endsWith("eed")) {
    if (measure(w.slice(0, -3)) > 0) w = w.slice(0, -1)
  } else if (w.endsWith("ed") && hasVowel(w.slice(0, -2))) {
    w = w.slice(0, -2)
    cleanup = true
  } else if (w.endsWith("ing") && hasVowel(w.slice(0, -3))) {
    w = w.slice(0, -3)
    cleanup = true
  }
  if (cleanup) {
    if (w.endsWith("at") || w.endsWith("bl") || w.endsWith("iz")) w += "e"
    else if (endsDouble(w) && !"lsz".includes(w[w.length - 1]!)) w = w.slice(0, -1)
    else if (measure(w) === 1 && endsCvc(w)) w += "e"
  }
  // Step 1c
  if (w.endsWith("y") && hasVowel(w.slice(0, -1))) w = w.slice(0, -1) + "i"
  // Steps 2 and 3
  w = replaceSuffix(w, STEP2, (s) => measure(s) > 0)
  w = replaceSuffix(w, STEP3, (s) => measure(s) > 0)
  // Step 4 (the longest matching suffix)
  const suffix = STEP4.filter((s) => w.endsWith(s)).sort((a, b) => b.length - a.length)[0]
  if (suffix !== undefined) {
    const s = w.slice(0, w.length - suffix.length)
    const ion = suffix !== "ion" || s.endsWith("s") || s.endsWith("t")
    if (measure(s) > 1 && ion) w = s
  }
  // Step 5
  if (w.endsWith("e")) {
    const s = w.slice(0, -1)
    const m = measure(s)
    if (m > 1 || (m === 1 && !endsCvc(s))) w = s
  }
  if (measure(w) > 1 && endsDouble(w) && w.endsWith("l")) w = w.slice(0, -1)
  return w
}

// ---------------------------------------------------------------------------------------------
// Presence and recall
// ---------------------------------------------------------------------------------------------

/** A context prepared once for many questions. */
export interface Haystack {
  /** Its normalised words joined by single spaces, with a space at each end. */
  readonly joined: string
  readonly stems: ReadonlySet<string>
}

export const haystack = (text: string): Haystack => {
  const ws = normalised(text)
  return { joined: ` ${ws.join(" ")} `, stems: new Set(ws.map(stem)) }
}

export const present = (answer: string, context: Haystack): boolean => {
  const ws = normalised(answer)
  return ws.length > 0 && context.joined.includes(` ${ws.join(" ")} `)
}

/** Share of the answer's content words (all its words if it has none) found in the context. */
export const wordRecall = (answer: string, context: Haystack): number => {
  const all = normalised(answer)
  const content = all.filter((w) => !STOPWORDS.has(w))
  const ws = [...new Set((content.length > 0 ? content : all).map(stem))]
  if (ws.length === 0) return 0
  return ws.filter((w) => context.stems.has(w)).length / ws.length
}

// ---------------------------------------------------------------------------------------------
// F1 (LoCoMo's scoring)
// ---------------------------------------------------------------------------------------------

const tokenF1 = (prediction: string, truth: string): number => {
  const p = normalised(prediction).map(stem)
  const t = normalised(truth).map(stem)
  if (p.length === 0 || t.length === 0) return 0
  const counts = new Map<string, number>()
  for (const w of t) counts.set(w, (counts.get(w) ?? 0) + 1)
  let common = 0
  for (const w of p) {
    const n = counts.get(w) ?? 0
    if (n > 0) {
      common++
      counts.set(w, n - 1)
    }
  }
  if (common === 0) return 0
  const precision = common / p.length
  const recall = common / t.length
  return (2 * precision * recall) / (precision + recall)
}

/** The F1 of `prediction` against `truth` for a question of `group` (LoCoMo category or fact kind). */
export const f1 = (prediction: string, truth: string, group: string): number => {
  if (group.startsWith("5 ")) {
    const said = prediction.toLowerCase()
    return said.includes("no information available") || said.includes("not mentioned") ? 1 : 0
  }
  if (group.startsWith("1 ")) {
    const predictions = prediction.split(",")
    const truths = truth.split(",")
    return truths.reduce((sum, t) => sum + Math.max(...predictions.map((p) => tokenF1(p, t))), 0) /
      truths.length
  }
  if (group.startsWith("3 ")) return tokenF1(prediction, truth.split(";")[0]!)
  return tokenF1(prediction, truth)
}
