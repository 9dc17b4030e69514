/**
 * Line handling shared by the summaries and the pager: one definition of "line" (a trailing
 * newline does not open another line; `\r\n` is one break) so line numbers agree everywhere.
 *
 * @since 0.1.0
 */

/** The lines of `text`, without their line breaks. */
export const splitLines = (text: string): Array<string> => {
  if (text.length === 0) return []
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === "") lines.pop()
  return lines
}

/** The number of lines of `text`, counted without splitting it. */
export const countLines = (text: string): number => {
  if (text.length === 0) return 0
  let n = 0
  let at = text.indexOf("\n")
  while (at !== -1) {
    n++
    at = text.indexOf("\n", at + 1)
  }
  return text.endsWith("\n") ? n : n + 1
}

/** 1-based line number of the character at `offset` in `text`. */
export const lineAt = (text: string, offset: number): number => {
  let n = 1
  let at = text.indexOf("\n")
  while (at !== -1 && at < offset) {
    n++
    at = text.indexOf("\n", at + 1)
  }
  return n
}

/**
 * A function from offsets to 1-based line numbers over one text, for many lookups: it records
 * the line starts once and bisects.
 */
export const lineIndex = (text: string): (offset: number) => number => {
  const starts: Array<number> = [0]
  let at = text.indexOf("\n")
  while (at !== -1) {
    starts.push(at + 1)
    at = text.indexOf("\n", at + 1)
  }
  return (offset) => {
    let low = 0
    let high = starts.length - 1
    while (low < high) {
      const mid = Math.ceil((low + high) / 2)
      if (starts[mid]! <= offset) low = mid
      else high = mid - 1
    }
    return low + 1
  }
}
