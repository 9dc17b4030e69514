/**
 * Deterministic extractive compression: keep the lines of a transcript that carry the most
 * information a continuing agent needs — the user's instructions and constraints, identifiers,
 * paths, URLs, numbers, error lines and the newest decisions — ranked, then packed into a token
 * budget and emitted in their original order. No model involved, so it cannot fail; it is the
 * level-3 fallback of compaction and the summariser of `MockLlm`.
 *
 * Plain head truncation is what users of other libraries complain about: it keeps the oldest,
 * least useful text. Ranking by content keeps the facts wherever they sit in the span.
 *
 * @since 0.1.0
 */

export interface ExtractOptions {
  /** Budget for the whole output, header included. */
  readonly maxTokens: number
  readonly countTokens: (text: string) => number
  /** First line of the output. */
  readonly header?: string | undefined
}

/** The transcript's role markers: a line `[user …]` or `[assistant …]` starts a message block. */
const ROLE_LINE = /^\[(user|assistant|summary|tool)\b[^\]]*\]\s*$/i

const INSTRUCTION =
  /\b(must|mustn't|must not|should|shouldn't|never|always|don't|do not|need to|needs to|please|make sure|ensure|remember|important|constraint|required?|only|avoid|prefer)\b/i
const ERROR =
  /\b(error|exception|failed|failure|fatal|panic|traceback|denied|cannot|can't|undefined is not|ENOENT|EACCES|timeout)\b|\b[A-Z][a-zA-Z]*Error\b|\bE[A-Z]{3,}\b/
const DECISION =
  /\b(decided|decision|we will|i will|going to|chose|choose|plan|next step|todo|to do|done|completed|fixed|implemented|agreed|conclusion)\b/i
const URL = /\bhttps?:\/\/[^\s)>"']+/
const PATH =
  /(?:^|[\s("'`])(?:~|\.{1,2})?\/?[\w.-]+\/[\w./-]+|\b[\w-]+\.(?:ts|tsx|js|mjs|py|rs|go|java|json|ya?ml|toml|md|sql|sh|css|html|txt|csv|lock)\b/
const ID = /\b(?:msg|sum|sess|part|file)_[0-9A-Za-z]{8,}\b|\b[0-9a-f]{7,40}\b|\b[A-Z][A-Z0-9]+-\d+\b/
const CODE_IDENT = /\b[a-z]+[A-Z][A-Za-z0-9]*\b|\b[a-z]+_[a-z0-9_]+\b|`[^`]+`/
const NUMBER = /\b\d[\d,._:]*\d?\s?(?:%|ms|s|kb|mb|gb|tokens?|px|x)?\b/i

const MAX_SEGMENT_CHARS = 220

interface Segment {
  readonly index: number
  readonly text: string
  readonly score: number
}

/** Splits a line into sentence-sized pieces no longer than `MAX_SEGMENT_CHARS`. */
const pieces = (line: string): Array<string> => {
  if (line.length <= MAX_SEGMENT_CHARS) return [line]
  const out: Array<string> = []
  for (const sentence of line.split(/(?<=[.!?;])\s+/)) {
    if (sentence.length <= MAX_SEGMENT_CHARS) {
      out.push(sentence)
      continue
    }
    // Too long even as a sentence: keep a window around its most telling match.
    const anchor = [ERROR, ID, PATH, URL, INSTRUCTION, CODE_IDENT].map((re) => sentence.search(re)).find((
      i
    ) => i >= 0)
    // Start at the sentence's beginning unless its telling part lies beyond the first window.
    const preferred = anchor === undefined || anchor < MAX_SEGMENT_CHARS - 60 ? 0 : anchor - 40
    const start = Math.max(0, Math.min(preferred, sentence.length - MAX_SEGMENT_CHARS))
    out.push(
      `${start > 0 ? "…" : ""}${sentence.slice(start, start + MAX_SEGMENT_CHARS).trim()}${
        start + MAX_SEGMENT_CHARS < sentence.length ? "…" : ""
      }`
    )
  }
  return out
}

const scoreOf = (text: string, role: string, position: number): number => {
  let score = 0
  const isUser = role === "user"
  if (INSTRUCTION.test(text)) score += isUser ? 6 : 2
  if (ERROR.test(text)) score += 5
  if (DECISION.test(text)) score += 3
  if (URL.test(text)) score += 4
  if (PATH.test(text)) score += 4
  if (ID.test(text)) score += 4
  if (CODE_IDENT.test(text)) score += 2
  if (NUMBER.test(text)) score += 1
  if (isUser) score += 1
  // Newer lines win ties and edge out older ones of equal content (decisions change).
  return score + position * 2
}

/** Ranks a transcript's segments; exported for tests of the ranking itself. */
export const segments = (transcript: string): Array<Segment> => {
  const lines = transcript.split(/\r?\n/)
  const raw: Array<{ text: string; role: string }> = []
  let role = "unknown"
  for (const line of lines) {
    // Bullets of earlier summaries would otherwise come back as "- - …".
    const trimmed = line.trim().replace(/^(?:[-*•]\s+)+/, "")
    if (trimmed === "") continue
    const marker = ROLE_LINE.exec(trimmed)
    if (marker !== null) {
      role = marker[1]!.toLowerCase()
      continue
    }
    for (const piece of pieces(trimmed)) raw.push({ text: piece, role })
  }
  const seen = new Set<string>()
  const out: Array<Segment> = []
  raw.forEach((segment, index) => {
    if (seen.has(segment.text)) return
    seen.add(segment.text)
    const position = raw.length <= 1 ? 1 : index / (raw.length - 1)
    const tagged = segment.role === "user" ? `user: ${segment.text}` : segment.text
    out.push({ index, text: tagged, score: scoreOf(segment.text, segment.role, position) })
  })
  return out
}

/**
 * The extractive summary of `transcript` within `maxTokens` (never more). Lines are chosen by
 * score, then written in transcript order as a bullet list under the header.
 */
export const extract = (transcript: string, options: ExtractOptions): string => {
  const header = options.header ?? "Extractive summary (deterministic): the most informative lines, in order."
  let budget = options.maxTokens - options.countTokens(header) - 1
  if (budget <= 0) return header.slice(0, Math.max(0, options.maxTokens * 3))
  const ranked = segments(transcript).sort((a, b) => b.score - a.score || b.index - a.index)
  const chosen: Array<Segment> = []
  for (const segment of ranked) {
    const cost = options.countTokens(`- ${segment.text}\n`)
    if (cost > budget) continue
    chosen.push(segment)
    budget -= cost
    if (budget < 4) break
  }
  // Token counts of pieces need not add up exactly once joined: drop the weakest line until the
  // whole text fits, so the budget is a hard bound.
  for (;;) {
    const text = render(header, chosen)
    if (chosen.length === 0 || options.countTokens(text) <= options.maxTokens) return text
    chosen.pop()
  }
}

const render = (header: string, chosen: ReadonlyArray<Segment>): string =>
  [header, ...[...chosen].sort((a, b) => a.index - b.index).map((segment) => `- ${segment.text}`)].join("\n")
