/**
 * Human output: numbers, money, sizes, times, aligned tables and one-line clips. Plain text (no
 * colour codes), so it reads the same in a terminal, a log and a pipe.
 *
 * @internal
 */

export const num = (n: number): string => n.toLocaleString("en")

export const usd = (cost: number): string =>
  cost === 0 ? "$0" : cost < 0.01 ? `$${cost.toFixed(4)}` : `$${cost.toFixed(2)}`

export const bytes = (n: number): string => {
  const units = ["B", "KB", "MB", "GB", "TB"]
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

const pad2 = (n: number) => String(n).padStart(2, "0")

/** `2025-06-01 10:04` in UTC (times in the store are UTC epoch milliseconds). */
export const time = (ms: number): string => {
  const d = new Date(ms)
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`
}

/** How long ago `ms` was, in the largest whole unit. */
export const ago = (ms: number, now: number): string => {
  const seconds = Math.max(0, Math.round((now - ms) / 1000))
  if (seconds < 60) return `${seconds}s ago`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours}h ago`
  return `${Math.floor(hours / 24)}d ago`
}

/** The text on one line, cut to `max` characters with an ellipsis. */
export const clip = (text: string, max: number): string => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1))}…`
}

export interface Column<Row> {
  readonly header: string
  readonly value: (row: Row) => string
  readonly align?: "left" | "right"
}

/** Rows under a header line, columns padded to their widest cell. */
export const table = <Row>(rows: ReadonlyArray<Row>, columns: ReadonlyArray<Column<Row>>): string => {
  const cells = rows.map((row) => columns.map((column) => column.value(row)))
  const widths = columns.map((column, i) =>
    cells.reduce((max, line) => Math.max(max, line[i]!.length), column.header.length)
  )
  const line = (values: ReadonlyArray<string>) =>
    values.map((value, i) =>
      columns[i]!.align === "right" ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)
    ).join("  ").trimEnd()
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join("\n")
}
