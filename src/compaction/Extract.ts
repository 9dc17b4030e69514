/**
 * Deterministic extractive compression: the sentences of a transcript that carry the most
 * specific information — words rare in the span, proper nouns, numbers, dates, times, amounts,
 * frequencies, paths, URLs, identifiers, errors, and the user's instructions — chosen within a
 * token budget and written in their original order, each with who said it and under the date of
 * its session. No model involved, so it cannot fail; it is the level-3 fallback of compaction
 * and the summariser of `MockLlm`.
 *
 * How it reads a transcript (Transcript.ts writes it; earlier level-3 output reads the same way):
 * - a line `[user …]`, `[assistant …]`, `[tool …]` or `[summary …]` opens a block with that role;
 *   a summary block's marker may say how many messages it covers (`… 120 messages …`);
 * - a short line that is mostly a date ("Session 3, 1:56 pm on 8 May, 2023", or "8 May, 2023"
 *   alone) sets the date of what follows, until the next one;
 * - `user: ` or `assistant: ` in front of a line sets its role (so a user's line keeps its weight
 *   inside a summary, depth after depth); `Name: ` sets its speaker, which the rest of a message
 *   keeps.
 *
 * What it writes: one line per kept sentence (sentences of one message joined), prefixed with
 * the speaker's name, or `user: ` for the user's own words; a date line before each group of
 * lines from a new date. Greetings, interjections and names used as address are stripped first,
 * and a sentence with nothing specific left is never kept, so a span of small talk gives a short
 * summary rather than a padded one.
 *
 * Ranking rewards specificity, not trigger words: "Family's super important to me." scores
 * nothing, "I go swimming three times a week." scores. Each kept sentence makes its words worth
 * less in the sentences still to choose, so one fact is not kept five times. In a condensation
 * (a transcript of summaries) each summary gets a share of the budget in proportion to the
 * messages it covers, so the oldest facts are not squeezed out by the newest at every depth.
 *
 * @since 0.1.0
 */
import { COMMON_WORDS, VAGUE_WORDS } from "./Words.js"

export interface ExtractOptions {
  /** Budget for the whole output, header included. */
  readonly maxTokens: number
  readonly countTokens: (text: string) => number
  /** First line of the output (none by default). */
  readonly header?: string | undefined
}

type Role = "user" | "assistant" | "summary" | "tool" | "unknown"

/** A block marker: `[user msg_… #3]`, `[summary sum_… depth 1, 12 messages …]`. */
const ROLE_LINE = /^\[(user|assistant|summary|tool)\b([^\]]*)\]\s*$/i
const ROLE_TAG = /^(user|assistant):\s*/i
/** `Caroline: …`, `Mary Ann: …`; one or two capitalised words. */
const SPEAKER = /^(\p{Lu}[\p{Ll}'’-]+(?: \p{Lu}[\p{Ll}'’-]+)?):\s+(?=\S)/u
/** Labels that look like a speaker but are not one. */
const NOT_SPEAKERS = new Set(
  `answer cause context constraints done error example files fix goal hint input message next note output
  question reason result status step summary tip todo update usage warning`.split(/\s+/)
)

const MONTH =
  "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
const DATE = new RegExp(
  `\\b(?:\\d{1,2}(?:st|nd|rd|th)?(?: of)? ${MONTH}\\.?(?:,? \\d{4})?|${MONTH}\\.? \\d{1,2}(?:st|nd|rd|th)?(?:,? \\d{4})?|\\d{4}-\\d{2}-\\d{2}|${MONTH} \\d{4})\\b`,
  "i"
)
const DATES = new RegExp(DATE.source, "gi")
const TIME = /\b\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)|\b\d{1,2}:\d{2}\b/i
const WEEKDAY_OR_RELATIVE =
  /\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|tomorrow|yesterday|tonight|last (?:week|month|year|night)|next (?:week|month|year)|this (?:week|month|year))\b/i
const FREQUENCY =
  /\b(?:once|twice|thrice|(?:one|two|three|four|five|six|seven|\d+) times)(?: (?:a|per|every|each))? (?:day|week|month|year|fortnight|night)\b|\bevery (?:other |second |single )?(?:day|week|month|year|morning|evening|night|weekend|fortnight|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|\b(?:daily|weekly|monthly|yearly|annually|nightly|fortnightly)\b/i
const QUANTITY =
  /\b(?:\d[\d,.]*|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|a dozen|a couple of) (?:\p{L}+)/iu
const MONEY = /[$€£¥]\s?\d|\b\d[\d,.]*\s?(?:dollars|euros|pounds|usd|eur|gbp|k\b)/i
const NUMBER = /\b\d[\d,._:]*\b/
const URL = /\bhttps?:\/\/[^\s)>"']+/
const PATH =
  /(?:^|[\s("'`])(?:~|\.{1,2})?\/?[\w.-]+\/[\w./-]+|\b[\w-]+\.(?:ts|tsx|js|mjs|py|rs|go|java|json|ya?ml|toml|md|sql|sh|css|html|txt|csv|lock|pdf)\b/
const ID =
  /\b(?:msg|sum|sess|part|file)_[0-9A-Za-z]{8,}\b|\b[0-9a-f]{7,40}\b|\b[A-Z][A-Z0-9]+-\d+\b|\b[A-Z0-9]*\d[A-Z0-9]*[A-Z][A-Z0-9]*\b/
const ERROR =
  /\b(?:error|exception|failed|failure|fatal|panic|traceback|denied|ENOENT|EACCES|timeout)\b|\b[A-Z][a-zA-Z]*Error\b|\bE[A-Z]{3,}\b/
const CODE_IDENT = /\b[a-z]+[A-Z][A-Za-z0-9]*\b|\b[a-z]+_[a-z0-9_]+\b|`[^`]+`/
const INSTRUCTION =
  /\b(?:must|mustn't|must not|should|shouldn't|never|always|don't|do not|need to|please|make sure|ensure|remember|avoid|prefer|only)\b/i

/** Greetings and interjections at the start of a sentence, with the punctuation after them. */
const INTERJECTION =
  /^(?:(?:hey|hi|hello|oh|ah|aw+|wow|whoa|yeah|yes|yep|yup|nope|ok|okay|well|haha+|hah|lol|ooh|hmm+|um+|anyway|honestly|btw|thanks|thank you|cool|great|awesome|nice|sure|totally|absolutely|definitely|congrats|congratulations|omg|gosh|yay|woo+hoo+|phew|sorry|ha)(?: (?:so much|a lot|again|man|guys))?(?:[\s,!.…~:;-]+|$))+/i

const MAX_SEGMENT_CHARS = 220
/** A sentence must be worth at least this much to be kept at all. */
const MIN_SCORE = 5
/** A rare word that reads as a proper noun counts this much more; a vague one this much less. */
const PROPER = 2.5
const VAGUE = 0.3
/** The k-th most telling word of a sentence counts 1 / (1 + DIMINISH·k): facts, not word count. */
const DIMINISH = 0.5
/** How much a word counts again once a kept sentence holds it. */
const REPEAT = 0.3

/** What level 3 writes for a span with nothing specific in it (small talk only). */
export const EMPTY_NOTE = "(nothing specific; expand for the originals)"

interface Unit {
  readonly index: number
  /** Lines of one message (or one line of a summary) are joined when written. */
  readonly origin: number
  /** The summary block it came from, for quotas; -1 outside summaries. */
  readonly child: number
  readonly role: Role
  readonly speaker: string | undefined
  readonly date: string | undefined
  readonly text: string
  /** The sentence it is a clause of, its place in it, and what separated it from the clause before. */
  readonly sentence: number
  readonly clause: number
  readonly joiner: string
  /** Whether it ends its sentence. */
  readonly final: boolean
  /** Its content words, lower-cased, each once, with whether it reads as a proper noun. */
  readonly words: ReadonlyArray<{ readonly word: string; readonly proper: boolean }>
  /** Points for specific patterns (numbers, dates, paths…), independent of the span. */
  readonly bonus: number
  readonly question: boolean
}

/** The date part of a header line, or undefined when the line is not a header. */
const headerDate = (line: string): string | undefined => {
  if (line.length > 90) return undefined
  const date = DATE.exec(line)
  if (date === null) return undefined
  const rest = line.replace(DATES, " ").replace(new RegExp(TIME.source, "gi"), " ")
    .replace(/\b(?:session|date|on|at|day|the|of)\b/gi, " ").replace(/[\d\W_]+/g, " ").trim()
  return rest === "" || rest.split(/\s+/).length <= 1 ? date[0] : undefined
}

const ABBREVIATION = /\b(?:Dr|Mr|Mrs|Ms|St|Prof|Jr|Sr|vs|etc|e\.g|i\.e|approx|No)\.$/

/** Sentence-sized pieces of a line, each at most `MAX_SEGMENT_CHARS`. */
const sentences = (line: string): Array<string> => {
  const raw = line.split(/(?<=[.!?…])\s+(?=["'“‘([]?[\p{Lu}\p{N}])/u)
  const merged: Array<string> = []
  for (const piece of raw) {
    const last = merged[merged.length - 1]
    if (last !== undefined && ABBREVIATION.test(last)) merged[merged.length - 1] = `${last} ${piece}`
    else merged.push(piece)
  }
  return merged.flatMap((sentence) => sentence.length <= MAX_SEGMENT_CHARS ? [sentence] : window(sentence))
}

/** A window of an overlong sentence around its most telling part. */
const window = (sentence: string): Array<string> => {
  const anchor = [ERROR, ID, PATH, URL, DATE, MONEY, NUMBER, CODE_IDENT].map((re) => sentence.search(re))
    .find((i) => i >= 0)
  const preferred = anchor === undefined || anchor < MAX_SEGMENT_CHARS - 60 ? 0 : anchor - 40
  const start = Math.max(0, Math.min(preferred, sentence.length - MAX_SEGMENT_CHARS))
  return [
    `${start > 0 ? "…" : ""}${sentence.slice(start, start + MAX_SEGMENT_CHARS).trim()}${
      start + MAX_SEGMENT_CHARS < sentence.length ? "…" : ""
    }`
  ]
}

/**
 * Where a sentence is cut into clauses: dashes, semicolons, and a comma before a conjunction. A
 * list ("love, faith and strength") is never cut.
 */
const CLAUSE_BREAK =
  /(\s+[-–—]+\s+|;\s+|,\s+(?=(?:but|so|because|since|while|although|though|cause|'cause|plus)\s))/iu

/** The clauses of a sentence, each with the separator that came before it. */
const clauses = (sentence: string): Array<{ readonly text: string; readonly joiner: string }> => {
  const pieces = sentence.split(CLAUSE_BREAK)
  const out: Array<{ text: string; joiner: string }> = []
  let joiner = ""
  for (let i = 0; i < pieces.length; i++) {
    if (i % 2 === 1) {
      joiner = pieces[i]!
      continue
    }
    const text = pieces[i]!.trim()
    // A fragment of one or two words is no clause: it stays with the one before.
    if (out.length > 0 && text.split(/\s+/).length < 3) out[out.length - 1]!.text += `${joiner}${text}`
    else if (text !== "") out.push({ text, joiner })
  }
  return out
}

const LEADING_CONJUNCTION = /^(?:but|so|and|plus|because|since|while|although|though|cause|'cause)\s+/i

const capitalised = (text: string): string => text.length > 0 ? text[0]!.toUpperCase() + text.slice(1) : text

const LEADING_NAME = /^(\p{Lu}[\p{Ll}'’-]+)[,!.:]+\s*/u
const TRAILING_NAME = /,\s*(\p{Lu}[\p{Ll}'’-]+)(?=[!?.]*$)/u

/** Drops greetings, interjections and the names (or nicknames: "Mel") of the people talked to. */
const stripFiller = (sentence: string, isName: (word: string) => boolean): string => {
  let s = sentence.trim()
  for (let i = 0; i < 3; i++) {
    const before = s
    s = s.replace(INTERJECTION, "")
    const lead = LEADING_NAME.exec(s)
    if (lead !== null && isName(lead[1]!)) s = s.slice(lead[0].length)
    if (s === before) break
  }
  const trail = TRAILING_NAME.exec(s)
  if (trail !== null && isName(trail[1]!)) {
    s = s.slice(0, trail.index) + s.slice(trail.index + trail[0].length)
  }
  return s.trim()
}

/** A word: letters and digits, inner apostrophes, dots, slashes, dashes (no backtracking: this runs a lot). */
const WORD = /[\p{L}\p{N}]+(?:['’_./-][\p{L}\p{N}]+)*/gu

const POSSESSIVE = /['’]s$/
const UPPER_START = /^\p{Lu}/u
const DIGIT = /\d/

const contentWords = (text: string): Array<{ word: string; proper: boolean }> => {
  const out = new Map<string, boolean>()
  let first = true
  // `exec` on the shared pattern: `matchAll` would copy a Unicode regex on every call.
  WORD.lastIndex = 0
  for (let match = WORD.exec(text); match !== null; match = WORD.exec(text)) {
    const token = match[0]
    const word = token.toLowerCase().replace(POSSESSIVE, "")
    const atStart = first
    first = false
    if (COMMON_WORDS.has(word) || (word.length < 3 && !DIGIT.test(word))) continue
    const proper = !atStart && UPPER_START.test(token)
    out.set(word, (out.get(word) ?? false) || proper)
  }
  return [...out].map(([word, proper]) => ({ word, proper }))
}

const bonusOf = (text: string, role: Role): number => {
  let bonus = 0
  const dates = text.match(DATES)?.length ?? 0
  bonus += Math.min(2, dates) * 3
  if (TIME.test(text)) bonus += 2
  if (WEEKDAY_OR_RELATIVE.test(text)) bonus += 1
  if (FREQUENCY.test(text)) bonus += 3
  if (MONEY.test(text)) bonus += 3
  else if (QUANTITY.test(text)) bonus += 2
  else if (NUMBER.test(text)) bonus += 1
  if (URL.test(text)) bonus += 4
  if (PATH.test(text)) bonus += 4
  if (ID.test(text)) bonus += 4
  if (ERROR.test(text)) bonus += 3
  if (CODE_IDENT.test(text)) bonus += 1
  if (role === "user" && INSTRUCTION.test(text)) bonus += 3
  return bonus
}

/** The transcript as sentences with their role, speaker, date and origin. */
const parse = (transcript: string): Array<Unit> => {
  interface Line {
    readonly text: string
    readonly role: Role
    readonly speaker: string | undefined
    readonly date: string | undefined
    readonly origin: number
    readonly child: number
  }
  const lines: Array<Line> = []
  const speakers = new Set<string>()
  let role: Role = "unknown"
  let blockSpeaker: string | undefined
  let date: string | undefined
  let child = -1
  let origin = 0
  for (const raw of transcript.split(/\r?\n/)) {
    // Bullets and headings of earlier summaries would otherwise come back as "- - …".
    const trimmed = raw.trim().replace(/^(?:[-*•]\s+|#{1,6}\s+)+/, "")
    if (trimmed === "") continue
    const marker = ROLE_LINE.exec(trimmed)
    if (marker !== null) {
      role = marker[1]!.toLowerCase() as Role
      blockSpeaker = undefined
      origin++
      if (role === "summary") child++
      continue
    }
    if (trimmed === EMPTY_NOTE) continue
    const dated = headerDate(trimmed)
    if (dated !== undefined) {
      date = dated
      continue
    }
    let text = trimmed
    let lineRole = role
    const tag = ROLE_TAG.exec(text)
    if (tag !== null) {
      lineRole = tag[1]!.toLowerCase() as Role
      text = text.slice(tag[0].length)
    }
    let speaker = role === "summary" ? undefined : blockSpeaker
    const named = SPEAKER.exec(text)
    if (named !== null && !NOT_SPEAKERS.has(named[1]!.toLowerCase())) {
      speaker = named[1]!
      speakers.add(speaker)
      text = text.slice(named[0].length)
      if (role !== "summary") blockSpeaker = speaker
    }
    // Inside a summary every line stands alone; in a message, lines of one speaker belong together.
    if (role === "summary") origin++
    lines.push({ text, role: lineRole, speaker, date, origin, child: role === "summary" ? child : -1 })
  }
  // A speaker's name, or the start of one (a nickname), when it is used to address them.
  const known = [...speakers].map((name) => name.toLowerCase())
  const isName = (word: string) => {
    const w = word.toLowerCase()
    return w.length >= 3 && known.some((name) => name.startsWith(w))
  }
  const seen = new Set<string>()
  const units: Array<Unit> = []
  let sentence = 0
  for (const line of lines) {
    for (const whole of sentences(line.text)) {
      sentence++
      const parts = clauses(whole)
      parts.forEach((part, clause) => {
        const text = stripFiller(part.text, isName)
        const words = contentWords(text)
        const key = `${line.speaker ?? line.role}\u0000${text.toLowerCase()}`
        if (words.length === 0 && !NUMBER.test(text)) return
        if (seen.has(key)) return
        seen.add(key)
        units.push({
          index: units.length,
          origin: line.origin,
          child: line.child,
          role: line.role,
          speaker: line.speaker,
          date: line.date,
          text,
          sentence,
          clause,
          joiner: part.joiner,
          final: clause === parts.length - 1,
          words,
          bonus: bonusOf(text, line.role),
          question: /\?["')\]]*$/.test(text)
        })
      })
    }
  }
  return units
}

/** How rare each word is in the span: log(1 + sentences / sentences holding it). */
const rarities = (units: ReadonlyArray<Unit>): Map<string, number> => {
  const df = new Map<string, number>()
  for (const unit of units) for (const { word } of unit.words) df.set(word, (df.get(word) ?? 0) + 1)
  const n = units.length
  return new Map([...df].map(([word, count]) => [word, Math.log(1 + n / count)]))
}

/** A sentence's worth given the words already kept (`covered`). */
const worth = (
  unit: Unit,
  rarity: ReadonlyMap<string, number>,
  covered: ReadonlyMap<string, number>
): number => {
  const parts = unit.words.map(({ proper, word }) =>
    (rarity.get(word) ?? 0) * (proper ? PROPER : VAGUE_WORDS.has(word) ? VAGUE : 1) *
    REPEAT ** (covered.get(word) ?? 0)
  ).sort((a, b) => b - a)
  // Diminishing returns: a long sentence of many uncommon words is not worth as many facts.
  let score = unit.bonus
  parts.forEach((part, k) => (score += part / (1 + DIMINISH * k)))
  return unit.question ? score * 0.5 : score
}

const prefixOf = (unit: Pick<Unit, "speaker" | "role">): string =>
  unit.speaker !== undefined ? `${unit.speaker}: ` : unit.role === "user" ? "user: " : ""

/** The line a clause starts, as it is costed (the date line it may need counted apart). */
const lineOf = (unit: Unit): string =>
  `${prefixOf(unit)}${capitalised(unit.text.replace(LEADING_CONJUNCTION, ""))}`

/** Ranks a transcript's sentences; exported for tests of the ranking itself. */
export const segments = (
  transcript: string
): Array<{ readonly index: number; readonly text: string; readonly score: number }> => {
  const units = parse(transcript)
  const rarity = rarities(units)
  const none = new Map<string, number>()
  return units.map((unit) => ({ index: unit.index, text: lineOf(unit), score: worth(unit, rarity, none) }))
}

/** Writes the chosen sentences in transcript order, under their dates, one message a line. */
const render = (header: string | undefined, chosen: ReadonlyArray<Unit>): string => {
  const out: Array<string> = header === undefined ? [] : [header]
  let date: string | undefined
  let previous: Unit | undefined
  for (const unit of [...chosen].sort((a, b) => a.index - b.index)) {
    let joined = false
    if (unit.date !== undefined && unit.date !== date) {
      out.push(unit.date)
      date = unit.date
    } else if (
      previous !== undefined && previous.origin === unit.origin && prefixOf(previous) === prefixOf(unit)
    ) {
      // The next clause of the same sentence joins as it was written; anything else after a gap.
      const next = previous.sentence === unit.sentence && previous.clause + 1 === unit.clause
      const glue = next ? unit.joiner : previous.final ? " " : " … "
      out[out.length - 1] = `${out[out.length - 1]}${glue}${next ? unit.text : capitalised(unit.text)}`
      joined = true
    }
    if (!joined) out.push(lineOf(unit))
    previous = unit
  }
  return out.join("\n")
}

/**
 * The extractive summary of `transcript` within `maxTokens` (never more): the most specific
 * sentences, greedily by worth per token, each summary of a condensation within its share first.
 */
export const extract = (transcript: string, options: ExtractOptions): string => {
  const { countTokens: count, header, maxTokens } = options
  const headerCost = header === undefined ? 0 : count(header) + 1
  if (header !== undefined && headerCost > maxTokens) return header.slice(0, Math.max(0, maxTokens * 3))
  const units = parse(transcript)
  const rarity = rarities(units)
  const cost = units.map((unit) => count(lineOf(unit)) + 1)
  const dateCost = new Map<string, number>()
  for (const unit of units) {
    if (unit.date !== undefined && !dateCost.has(unit.date)) dateCost.set(unit.date, count(unit.date) + 1)
  }
  const covered = new Map<string, number>()
  const dates = new Set<string>()
  const chosen: Array<Unit> = []
  const taken = new Set<number>()
  let budget = maxTokens - headerCost

  /**
   * Greedy choice among `pool` within `allowance`. Lazy: a sentence's worth only falls as others
   * are kept, so a stale worth is an upper bound and only the top of the queue is re-scored.
   */
  const choose = (pool: ReadonlyArray<Unit>, allowance: number): void => {
    let left = Math.min(allowance, budget)
    const none = new Map<string, number>()
    // Worth per token, softened so a long sentence rich in facts still beats a short scrap.
    const valueOf = (unit: Unit, w: number) => w / Math.sqrt(cost[unit.index]!)
    const queue = new Heap()
    for (const unit of pool) {
      if (taken.has(unit.index)) continue
      const w = worth(unit, rarity, covered.size === 0 ? none : covered)
      if (w >= MIN_SCORE) queue.push(valueOf(unit, w), unit.index)
    }
    for (;;) {
      const top = queue.pop()
      if (top === undefined) return
      const unit = units[top.index]!
      const extra = unit.date !== undefined && !dates.has(unit.date) ? dateCost.get(unit.date)! : 0
      const c = cost[unit.index]! + extra
      // The budget only shrinks: what does not fit now never will.
      if (c > left) continue
      const w = worth(unit, rarity, covered)
      if (w < MIN_SCORE) continue
      const value = valueOf(unit, w)
      const next = queue.peek()
      if (next !== undefined && (value < next.value || (value === next.value && next.index < unit.index))) {
        queue.push(value, unit.index)
        continue
      }
      taken.add(unit.index)
      chosen.push(unit)
      if (unit.date !== undefined) dates.add(unit.date)
      for (const { word } of unit.words) covered.set(word, (covered.get(word) ?? 0) + 1)
      left -= c
      budget -= c
    }
  }

  const children = new Map<number, Array<Unit>>()
  for (const unit of units) {
    if (unit.child < 0) continue
    const list = children.get(unit.child) ?? []
    list.push(unit)
    children.set(unit.child, list)
  }
  if (children.size >= 2) {
    const weights = childWeights(transcript)
    const total = [...children.keys()].reduce((sum, child) => sum + (weights[child] ?? 1), 0)
    const whole = budget
    for (const [child, pool] of children) choose(pool, Math.floor((whole * (weights[child] ?? 1)) / total))
  }
  choose(units, budget)

  // Token counts of lines need not add up exactly once joined: drop the weakest line until the
  // whole text fits, so the budget is a hard bound.
  const none = new Map<string, number>()
  chosen.sort((a, b) => worth(b, rarity, none) - worth(a, rarity, none) || a.index - b.index)
  for (;;) {
    const text = render(header, chosen)
    if (chosen.length === 0 || count(text) <= maxTokens) return text
    chosen.pop()
  }
}

/** The number of messages each summary block of a condensation transcript covers (1 if unsaid). */
const childWeights = (transcript: string): Array<number> => {
  const out: Array<number> = []
  for (const line of transcript.split(/\r?\n/)) {
    const marker = ROLE_LINE.exec(line.trim())
    if (marker === null || marker[1]!.toLowerCase() !== "summary") continue
    const n = /\b(\d+) messages?\b/.exec(marker[2]!)
    out.push(n === null ? 1 : Math.max(1, Number(n[1])))
  }
  return out
}

/** A max-queue of sentences by value (ties: the earlier sentence first). */
class Heap {
  private readonly values: Array<number> = []
  private readonly indices: Array<number> = []

  private above(i: number, j: number): boolean {
    return this.values[i]! > this.values[j]! ||
      (this.values[i] === this.values[j] && this.indices[i]! < this.indices[j]!)
  }

  private swap(i: number, j: number): void {
    ;[this.values[i], this.values[j]] = [this.values[j]!, this.values[i]!]
    ;[this.indices[i], this.indices[j]] = [this.indices[j]!, this.indices[i]!]
  }

  push(value: number, index: number): void {
    this.values.push(value)
    this.indices.push(index)
    let i = this.values.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.above(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  peek(): { readonly value: number; readonly index: number } | undefined {
    return this.values.length === 0 ? undefined : { value: this.values[0]!, index: this.indices[0]! }
  }

  pop(): { readonly value: number; readonly index: number } | undefined {
    const top = this.peek()
    if (top === undefined) return undefined
    const lastValue = this.values.pop()!
    const lastIndex = this.indices.pop()!
    if (this.values.length > 0) {
      this.values[0] = lastValue
      this.indices[0] = lastIndex
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let best = i
        if (l < this.values.length && this.above(l, best)) best = l
        if (r < this.values.length && this.above(r, best)) best = r
        if (best === i) break
        this.swap(i, best)
        i = best
      }
    }
    return top
  }
}
