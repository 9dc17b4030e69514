/**
 * A neutral tree for structured data (JSON, YAML, TOML), built by each format's parser with the
 * line numbers it knows, and the digest built from it: the keys with the shape of their values,
 * two levels deep, and for arrays of records the keys that occur and how often.
 *
 * @since 0.1.0
 */
import { clip, num, plural } from "../Digest.js"
import type { Item } from "../types.js"

export type ScalarType = "string" | "number" | "boolean" | "null" | "date" | "other"

export type Value =
  | {
    readonly kind: "object"
    /** Keys counted, even when `entries` was cut at the depth limit. */
    readonly size: number
    readonly entries: ReadonlyArray<Entry>
  }
  | {
    readonly kind: "array"
    readonly length: number
    /** The first elements (a sample: shapes are read from them). */
    readonly items: ReadonlyArray<Value>
  }
  | { readonly kind: "scalar"; readonly type: ScalarType; readonly text: string }

export interface Entry {
  readonly key: string
  /** 1-based line of the key, when the parser gives positions. */
  readonly line?: number | undefined
  readonly value: Value
}

/** Levels of nested keys converted (deeper objects keep only their size). */
export const MAX_DEPTH = 4
/** Elements of an array converted for its shape. */
export const SAMPLE_ITEMS = 1_000
/** Keys listed per object. */
const KEY_PREVIEW = 6

/** ISO text of a date (a TOML local time is not a valid instant: its own text then). */
export const dateText = (date: Date): string => {
  try {
    return date.toISOString()
  } catch {
    return "date"
  }
}

/** A plain JavaScript value (from `JSON.parse`, TOML) as a {@link Value}. */
export const fromPlain = (value: unknown, depth = 0): Value => {
  if (value === null) return { kind: "scalar", type: "null", text: "null" }
  if (value instanceof Date) return { kind: "scalar", type: "date", text: dateText(value) }
  if (Array.isArray(value)) {
    return {
      kind: "array",
      length: value.length,
      items: depth >= MAX_DEPTH
        ? []
        : value.slice(0, SAMPLE_ITEMS).map((v: unknown) => fromPlain(v, depth + 1))
    }
  }
  switch (typeof value) {
    case "string":
      return { kind: "scalar", type: "string", text: value }
    case "number":
    case "bigint":
      return { kind: "scalar", type: "number", text: String(value) }
    case "boolean":
      return { kind: "scalar", type: "boolean", text: String(value) }
    case "object": {
      const entries: ReadonlyArray<[string, unknown]> = Object.entries(value)
      return {
        kind: "object",
        size: entries.length,
        entries: depth >= MAX_DEPTH
          ? []
          : entries.map(([key, v]) => ({ key, value: fromPlain(v, depth + 1) }))
      }
    }
    default:
      return { kind: "scalar", type: "other", text: typeof value }
  }
}

const quote = (text: string): string => JSON.stringify(clip(text, 60))

/** A one-line description of a value: `string "x"`, `object {a, b, … 9 keys}`, `array[12] of number`. */
export const describe = (value: Value): string => {
  switch (value.kind) {
    case "scalar":
      return value.type === "string"
        ? `string ${quote(value.text)}`
        : value.type === "null"
        ? "null"
        : `${value.type} ${clip(value.text, 60)}`
    case "object": {
      if (value.size === 0) return "object {}"
      const keys = value.entries.slice(0, KEY_PREVIEW).map((e) => e.key)
      const rest = value.size - keys.length
      return keys.length === 0
        ? `object (${plural(value.size, "key")})`
        : `object {${keys.join(", ")}${rest > 0 ? `, … ${plural(value.size, "key")}` : ""}}`
    }
    case "array":
      return value.length === 0
        ? "array (empty)"
        : `array[${num(value.length)}] of ${elementShape(value.items)}`
  }
}

/** What an array's elements are: `number`, `string | null`, `object {id, name}`. */
const elementShape = (items: ReadonlyArray<Value>): string => {
  if (items.length === 0) return "…"
  const kinds: Array<string> = []
  const add = (k: string) => {
    if (!kinds.includes(k)) kinds.push(k)
  }
  for (const item of items) {
    if (item.kind === "scalar") add(item.type)
    else if (item.kind === "array") add("array")
    else add("object")
  }
  const objects = items.filter((i): i is Extract<Value, { kind: "object" }> => i.kind === "object")
  if (kinds.length === 1 && objects.length > 0) {
    const keys = keyFrequencies(objects).slice(0, KEY_PREVIEW).map((k) => k.key)
    return `object {${keys.join(", ")}${keyFrequencies(objects).length > KEY_PREVIEW ? ", …" : ""}}`
  }
  return kinds.join(" | ")
}

interface KeyCount {
  readonly key: string
  readonly count: number
  readonly values: Array<Value>
}

/** The keys of a list of records in first-seen order, each with how many records have it. */
const keyFrequencies = (
  objects: ReadonlyArray<Extract<Value, { kind: "object" }>>
): ReadonlyArray<KeyCount> => {
  const counts = new Map<string, KeyCount>()
  for (const object of objects) {
    for (const entry of object.entries) {
      const found = counts.get(entry.key)
      if (found === undefined) counts.set(entry.key, { key: entry.key, count: 1, values: [entry.value] })
      else {counts.set(entry.key, {
          ...found,
          count: found.count + 1,
          values: found.values.length < 50 ? [...found.values, entry.value] : found.values
        })}
    }
  }
  return [...counts.values()]
}

/** The kinds of values a key holds across records: `number`, `string | null`. */
const unionOf = (values: ReadonlyArray<Value>): string => {
  const kinds: Array<string> = []
  for (const v of values) {
    const k = v.kind === "scalar" ? v.type : v.kind
    if (!kinds.includes(k)) kinds.push(k)
  }
  return kinds.join(" | ")
}

/** The records of an array as items: one per key, with its value kinds and how many records have it. */
export const recordItems = (objects: ReadonlyArray<Extract<Value, { kind: "object" }>>): Array<Item> =>
  keyFrequencies(objects).map((k) => ({
    text: `${k.key}: ${unionOf(k.values)}${
      k.count === objects.length ? "" : ` (in ${num(k.count)} of ${num(objects.length)})`
    }`
  }))

const childItems = (value: Value, depth: number): Array<Item> => {
  if (depth >= 2) return []
  if (value.kind === "object") return value.entries.map((e) => entryItem(e, depth + 1))
  if (value.kind === "array") {
    const objects = value.items.filter((i): i is Extract<Value, { kind: "object" }> => i.kind === "object")
    return objects.length > 0 && objects.length === value.items.length ? recordItems(objects) : []
  }
  return []
}

/**
 * One key as an item: `L12 scripts: object (3 keys)` with its own keys as children, or
 * `L12 scripts: object {build, test, lint}` when the children are cut.
 */
export const entryItem = (entry: Entry, depth = 0): Item => {
  const at = entry.line === undefined ? "" : `L${entry.line} `
  const children = childItems(entry.value, depth)
  const brief = `${at}${entry.key}: ${describe(entry.value)}`
  if (children.length === 0 || entry.value.kind !== "object") return { text: brief, children }
  return {
    text: `${at}${entry.key}: object (${plural(entry.value.size, "key")})`,
    children,
    collapsed: brief
  }
}

/** The items describing a root value: its keys, or for an array its records' keys. */
export const rootItems = (value: Value): { readonly title: string; readonly items: Array<Item> } => {
  if (value.kind === "object") return { title: "Keys", items: value.entries.map((e) => entryItem(e)) }
  if (value.kind === "array") {
    const objects = value.items.filter((i): i is Extract<Value, { kind: "object" }> => i.kind === "object")
    if (objects.length > 0 && objects.length === value.items.length) {
      return {
        title: `Record keys (over the first ${plural(objects.length, "item")})`,
        items: recordItems(objects)
      }
    }
    return {
      title: "Items",
      items: value.items.slice(0, 20).map((v, i) => ({ text: `[${i}] ${describe(v)}` }))
    }
  }
  return { title: "Value", items: [{ text: describe(value) }] }
}

/** `object with 12 keys` / `array of 1,000 items` / `string`. */
export const rootHeadline = (value: Value): string =>
  value.kind === "object"
    ? `object with ${plural(value.size, "key")}`
    : value.kind === "array"
    ? `array of ${plural(value.length, "item")}${value.length > 0 ? ` (${elementShape(value.items)})` : ""}`
    : `a single ${value.type}`
