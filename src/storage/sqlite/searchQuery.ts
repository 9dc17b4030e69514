/**
 * Turns free text into a safe FTS5 MATCH expression. Whatever the user typed (quotes, `*`, `NEAR`,
 * `-`, `:`, parentheses), the output only ever contains double-quoted strings joined by `AND`,
 * an optional trailing `*` for prefix search, and the session filter we add ourselves.
 *
 * Words are split the way the `unicode61` tokenizer splits them (letters and digits), so
 * `msg_01ABC` becomes the phrase `"msg 01ABC"` and still matches the id.
 *
 * @internal
 */

const WORD = /[\p{L}\p{N}\p{M}]+/gu

const quote = (tokens: ReadonlyArray<string>): string => `"${tokens.join(" ").replaceAll("\"", "\"\"")}"`

/** Splits text into terms: `"quoted phrases"` stay together, other runs split on whitespace. */
const terms = (text: string): Array<{ readonly tokens: Array<string>; readonly prefix: boolean }> => {
  const out: Array<{ tokens: Array<string>; prefix: boolean }> = []
  const phrase = /"([^"]*)"|(\S+)/g
  for (const match of text.matchAll(phrase)) {
    const raw = match[1] ?? match[2] ?? ""
    const tokens = raw.match(WORD) ?? []
    if (tokens.length === 0) continue
    const prefix = match[1] === undefined && raw.endsWith("*")
    out.push({ tokens, prefix })
  }
  return out
}

/**
 * The MATCH expression for `text` within `sessionIds`, or undefined when the text holds no
 * searchable word (the caller then returns no results without querying).
 */
export const buildMatchQuery = (text: string, sessionIds: ReadonlyArray<string>): string | undefined => {
  const parts = terms(text).map((term) => `${quote(term.tokens)}${term.prefix ? " *" : ""}`)
  if (parts.length === 0 || sessionIds.length === 0) return undefined
  const sessions = sessionIds.map((id) => quote(id.match(WORD) ?? [])).join(" OR ")
  return `body : (${parts.join(" AND ")}) AND session_id : (${sessions})`
}
