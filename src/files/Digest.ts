/**
 * Renders a {@link Digest} within a token budget. Breadth first: the largest cap on items per
 * section that fits (children hidden) is found by bisection, then the largest cap on children per
 * item (a class's methods) that still fits. The same digest and budget always give the same
 * text, and every cut says how much it left out.
 *
 * @since 0.1.0
 */
import type { Count, Digest, Item, Section } from "./types.js"

/** No summary line is longer than this many characters. */
export const MAX_LINE_CHARS = 240

/** Cuts `text` to `max` characters, marking the cut. */
export const clip = (text: string, max: number = MAX_LINE_CHARS): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`

/** Collapses runs of whitespace (signatures spread over several lines read as one). */
export const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim()

/** `1234` → `1,234`: counts in summaries read at a glance. */
export const num = (n: number): string => n.toLocaleString("en")

/** `n thing` / `n things`. */
export const plural = (n: number, singular: string, pluralForm = `${singular}s`): string =>
  `${num(n)} ${n === 1 ? singular : pluralForm}`

const more = (n: number): string => `… ${num(n)} more`

/** How many entries a rendering shows: items per section, children per item (at every depth). */
interface Caps {
  readonly items: number
  readonly children: number
}

const renderItems = (
  items: ReadonlyArray<Item>,
  cap: number,
  caps: Caps,
  indent: string,
  out: Array<string>
): void => {
  const shown = items.slice(0, cap)
  for (const item of shown) {
    const children = item.children ?? []
    if (children.length > 0 && caps.children === 0) {
      out.push(clip(`${indent}${item.collapsed ?? `${item.text} [${plural(children.length, "member")}]`}`))
      continue
    }
    out.push(clip(`${indent}${item.text}`))
    if (children.length > 0) renderItems(children, caps.children, caps, `${indent}  `, out)
  }
  if (items.length > shown.length) out.push(`${indent}${more(items.length - shown.length)}`)
}

const renderSection = (section: Section, caps: Caps, out: Array<string>): void => {
  const cap = caps.items
  const total = section.items.length
  if (total === 0) return
  if (section.inline === true) {
    const shown = section.items.slice(0, cap).map((item) => item.text)
    const rest = total - shown.length
    const list = [...shown, ...(rest > 0 ? [more(rest)] : [])].join(", ")
    out.push(clip(`${section.title} (${num(total)}): ${list}`, MAX_LINE_CHARS * 4))
    return
  }
  out.push(`${section.title} (${num(total)}):`)
  renderItems(section.items, cap, caps, "  ", out)
}

/** The digest with at most `caps` entries in its lists. */
export const render = (digest: Digest, caps: Caps): string => {
  const out: Array<string> = [clip(digest.headline, MAX_LINE_CHARS * 2)]
  for (const note of digest.notes ?? []) out.push(clip(`Note: ${note}`, MAX_LINE_CHARS * 2))
  for (const section of digest.sections) renderSection(section, caps, out)
  return out.join("\n")
}

const longestChildList = (items: ReadonlyArray<Item>): number =>
  items.reduce(
    (max, item) => Math.max(max, (item.children ?? []).length, longestChildList(item.children ?? [])),
    0
  )

/** The largest `n` in `[0, ceiling]` for which `fits(n)` holds (`fits` is monotone), or 0. */
const largest = (ceiling: number, fits: (n: number) => boolean): number => {
  let low = 0
  let high = ceiling
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (fits(mid)) low = mid
    else high = mid - 1
  }
  return low
}

/**
 * Whether a text is within a number of tokens. A tokenizer that stops counting past the limit
 * (`Tokenizer.isWithinLimit`) makes every check cost at most the budget, however long the text.
 */
export type Within = (text: string, budget: number) => boolean

/** `Within` from a plain counter (counts the whole text). */
export const withinBy = (count: Count): Within => (text, budget) => count(text) <= budget

/** The longest prefix of `text` within `budget` tokens, cut at a line end when one fits. */
export const fitText = (
  text: string,
  budget: number,
  count: Count,
  within: Within = withinBy(count)
): string => {
  if (within(text, budget)) return text
  const lines = text.split("\n")
  let low = 0
  let high = lines.length
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (within(lines.slice(0, mid).join("\n"), budget)) low = mid
    else high = mid - 1
  }
  if (low > 0) return lines.slice(0, low).join("\n")
  // Not even the first line fits: its longest prefix that does.
  const first = lines[0] ?? ""
  let chars = 0
  let top = first.length
  while (chars < top) {
    const mid = Math.ceil((chars + top) / 2)
    if (within(first.slice(0, mid), budget)) chars = mid
    else top = mid - 1
  }
  return first.slice(0, chars)
}

/**
 * The digest rendered with the largest caps that fit `budget` tokens (items first, then children).
 * Every check asks `within` (see {@link Within}): a large file's full rendering may be tens of
 * thousands of tokens, and the search renders it about twenty times.
 */
export const fit = (
  digest: Digest,
  budget: number,
  count: Count,
  within: Within = withinBy(count)
): string => {
  const itemCeiling = digest.sections.reduce((max, s) => Math.max(max, s.items.length), 0)
  const childCeiling = digest.sections.reduce((max, s) => Math.max(max, longestChildList(s.items)), 0)
  const full = render(digest, { items: itemCeiling, children: childCeiling })
  if (within(full, budget)) return full
  const fits = (caps: Caps) => within(render(digest, caps), budget)
  const items = largest(itemCeiling, (n) => fits({ items: n, children: 0 }))
  const children = largest(childCeiling, (n) => fits({ items, children: n }))
  return fitText(render(digest, { items, children }), budget, count, within)
}
