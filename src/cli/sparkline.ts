/**
 * A one-line chart of a series (context size per turn) with a second line marking points
 * (compactions). Long series are folded into `width` columns, each showing its largest value.
 *
 * @internal
 */

const BARS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

export interface Sparkline {
  readonly bars: string
  /** `^` under each column holding a marked index, spaces elsewhere (trailing spaces trimmed). */
  readonly marks: string
  /** How many values each column stands for. */
  readonly perColumn: number
}

export const sparkline = (
  values: ReadonlyArray<number>,
  marked: ReadonlySet<number>,
  width: number,
  max: number = values.reduce((a, b) => Math.max(a, b), 0)
): Sparkline => {
  const perColumn = Math.max(1, Math.ceil(values.length / width))
  let bars = ""
  let marks = ""
  for (let start = 0; start < values.length; start += perColumn) {
    let peak = 0
    let mark = false
    for (let i = start; i < Math.min(values.length, start + perColumn); i++) {
      peak = Math.max(peak, values[i]!)
      if (marked.has(i)) mark = true
    }
    const level = max <= 0 ? 0 : Math.min(BARS.length - 1, Math.floor((peak / max) * (BARS.length - 1) + 0.5))
    bars += BARS[level]
    marks += mark ? "^" : " "
  }
  return { bars, marks: marks.trimEnd(), perColumn }
}
