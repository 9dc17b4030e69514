/**
 * The generic summary, for plain text and for any file whose own parser failed: line and word
 * counts, the first lines, and the most distinctive lines — those whose words are rarest in the
 * file (mean inverse line frequency), which in a log are the errors and in prose the specific
 * statements rather than the boilerplate.
 *
 * @since 0.1.0
 */
import { clip, num, plural } from "./Digest.js"
import { splitLines } from "./Lines.js"
import type { Digest, Item } from "./types.js"

const HEAD_LINES = 10
const DISTINCTIVE_LINES = 20
/** The distinctive-line scoring reads at most this many lines (it is linear, but memory grows). */
const MAX_ANALYSED_LINES = 100_000
const WORD = /[\p{L}\p{N}_]{3,}/gu

const wordsOf = (line: string): ReadonlySet<string> => new Set(line.toLowerCase().match(WORD) ?? [])

const numbered = (line: number, text: string): Item => ({ text: clip(`L${line}: ${text.trim()}`) })

/** Lines (1-based numbers) ranked by how rare their words are, best first; ties keep file order. */
export const distinctiveLines = (
  lines: ReadonlyArray<string>,
  skipBefore: number,
  limit: number
): ReadonlyArray<number> => {
  const analysed = Math.min(lines.length, MAX_ANALYSED_LINES)
  const words: Array<ReadonlySet<string>> = []
  const frequency = new Map<string, number>()
  for (let i = 0; i < analysed; i++) {
    const set = wordsOf(lines[i]!)
    words.push(set)
    for (const w of set) frequency.set(w, (frequency.get(w) ?? 0) + 1)
  }
  const seen = new Set<string>()
  const scored: Array<{ readonly line: number; readonly score: number }> = []
  for (let i = skipBefore; i < analysed; i++) {
    const set = words[i]!
    const key = lines[i]!.trim()
    // Two words at least: a lone rare word is usually an id or a number, not a statement.
    if (set.size < 2 || seen.has(key)) continue
    seen.add(key)
    let sum = 0
    for (const w of set) sum += Math.log(analysed / frequency.get(w)!)
    scored.push({ line: i + 1, score: sum / set.size })
  }
  scored.sort((a, b) => b.score - a.score || a.line - b.line)
  return scored.slice(0, limit).map((s) => s.line)
}

/** The generic digest of `text`; `headline` replaces the default first line (e.g. to say why). */
export const digest = (text: string, label: string, notes: ReadonlyArray<string> = []): Digest => {
  const lines = splitLines(text)
  let wordCount = 0
  for (const line of lines) wordCount += line.split(/\s+/).filter((w) => w.length > 0).length
  const head = lines.slice(0, HEAD_LINES).map((line, i) => numbered(i + 1, line))
  // Best first, so a cut to fit the budget drops the least distinctive.
  const picked = lines.length > HEAD_LINES ? distinctiveLines(lines, HEAD_LINES, DISTINCTIVE_LINES) : []
  const extraNotes = lines.length > MAX_ANALYSED_LINES
    ? [`distinctive lines were picked from the first ${num(MAX_ANALYSED_LINES)} lines`]
    : []
  return {
    headline: `${label}, ${plural(lines.length, "line")}, ${plural(wordCount, "word")}`,
    notes: [...notes, ...extraNotes],
    sections: [
      { title: "First lines", items: head },
      {
        title: "Distinctive lines (rarest words first)",
        items: picked.map((n) => numbered(n, lines[n - 1]!))
      }
    ]
  }
}
