/**
 * YAML through `yaml` (eemeli/yaml: no dependencies, full YAML 1.2, positions on every node): each
 * document's keys with the shapes of their values and the lines they start on. Multi-document
 * streams (Kubernetes manifests) list each document with its `kind`/`name` when it has them.
 *
 * @since 0.1.0
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml"
import { clip, plural } from "../Digest.js"
import { type Digest, type Item, Unparseable } from "../types.js"
import { dateText, entryItem, MAX_DEPTH, rootHeadline, rootItems, SAMPLE_ITEMS, type Value } from "./Shape.js"

const scalar = (value: unknown): Value => {
  if (value === null || value === undefined) return { kind: "scalar", type: "null", text: "null" }
  if (value instanceof Date) return { kind: "scalar", type: "date", text: dateText(value) }
  switch (typeof value) {
    case "string":
      return { kind: "scalar", type: "string", text: value }
    case "number":
    case "bigint":
      return { kind: "scalar", type: "number", text: String(value) }
    case "boolean":
      return { kind: "scalar", type: "boolean", text: String(value) }
    default:
      return { kind: "scalar", type: "other", text: typeof value }
  }
}

const keyText = (key: unknown): string =>
  isScalar(key) ? String(key.value) : isAlias(key) ? `*${key.source}` : String(key)

const convert = (node: unknown, lines: LineCounter, depth: number): Value => {
  if (isMap(node)) {
    return {
      kind: "object",
      size: node.items.length,
      entries: depth >= MAX_DEPTH ? [] : node.items.map((pair) => {
        const range = (pair.key as Node | null)?.range
        return {
          key: keyText(pair.key),
          line: depth === 0 && range !== undefined && range !== null
            ? lines.linePos(range[0]).line
            : undefined,
          value: convert(pair.value, lines, depth + 1)
        }
      })
    }
  }
  if (isSeq(node)) {
    return {
      kind: "array",
      length: node.items.length,
      items: depth >= MAX_DEPTH
        ? []
        : node.items.slice(0, SAMPLE_ITEMS).map((item) => convert(item, lines, depth + 1))
    }
  }
  if (isAlias(node)) return { kind: "scalar", type: "other", text: `alias *${node.source}` }
  return scalar(isScalar(node) ? node.value : node)
}

/** `Deployment web` from a document's `kind` and `metadata.name`, when it has them. */
const label = (value: Value): string => {
  if (value.kind !== "object") return ""
  const find = (entries: ReadonlyArray<{ key: string; value: Value }>, key: string) =>
    entries.find((e) => e.key === key)?.value
  const kind = find(value.entries, "kind")
  const metadata = find(value.entries, "metadata")
  const name = metadata?.kind === "object" ? find(metadata.entries, "name") : find(value.entries, "name")
  return [kind, name].filter((v) => v?.kind === "scalar").map((v) => v?.kind === "scalar" ? v.text : "").join(
    " "
  )
}

export const digest = (text: string): Digest => {
  const lines = new LineCounter()
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false })
  if (!Array.isArray(documents)) return { headline: "YAML, empty stream", sections: [] }
  for (const document of documents) {
    const error = document.errors[0]
    if (error !== undefined) {
      throw new Unparseable(
        `YAML error at line ${lines.linePos(error.pos[0]).line}: ${
          clip(error.message.split("\n")[0] ?? "", 160)
        }`
      )
    }
  }
  const values = documents.map((d) => convert(d.contents, lines, 0))
  if (values.length === 1) {
    const value = values[0]!
    const { items, title } = rootItems(value)
    return { headline: `YAML ${rootHeadline(value)}`, sections: [{ title, items }] }
  }
  const items: Array<Item> = values.map((value, i) => {
    const start = documents[i]!.contents?.range?.[0]
    const at = start === undefined ? "" : `L${lines.linePos(start).line} `
    const name = label(value)
    return {
      text: `${at}document ${i + 1}${name === "" ? "" : ` (${clip(name, 80)})`}: ${rootHeadline(value)}`,
      children: value.kind === "object" ? value.entries.map((e) => entryItem(e, 1)) : []
    }
  })
  return {
    headline: `YAML stream of ${plural(values.length, "document")}`,
    sections: [{ title: "Documents", items }]
  }
}
