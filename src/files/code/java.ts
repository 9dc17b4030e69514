/**
 * Outline of Java from the tree-sitter tree: package, imports, classes, interfaces, enums, records
 * and annotation types with their constructors, methods and nested types. Exported means
 * `public`.
 *
 * @since 0.1.0
 */
import type { Node } from "web-tree-sitter"
import { oneLine } from "../Digest.js"
import type { CodeOutline, CodeSymbol } from "../types.js"
import { errorLines, fieldText, head, namedChildrenOf, symbol, unique } from "./nodes.js"

const TYPE_KINDS: Readonly<Record<string, string>> = {
  class_declaration: "class",
  interface_declaration: "interface",
  enum_declaration: "enum",
  record_declaration: "record",
  annotation_type_declaration: "annotation"
}

const isPublic = (node: Node): boolean =>
  node.namedChildren.some((c) => c.type === "modifiers" && /\bpublic\b/.test(c.text))

const members = (source: string, body: Node | null): Array<CodeSymbol> => {
  const out: Array<CodeSymbol> = []
  for (const member of namedChildrenOf(body)) {
    if (member.type === "enum_body_declarations") {
      out.push(...members(source, member))
      continue
    }
    if (
      member.type === "method_declaration" || member.type === "constructor_declaration" ||
      member.type === "compact_constructor_declaration"
    ) {
      out.push(symbol({
        kind: member.type === "method_declaration" ? "method" : "constructor",
        name: fieldText(member, "name") ?? "?",
        signature: head(source, member, member.childForFieldName("body")),
        exported: isPublic(member)
      }, member))
      continue
    }
    const nested = typeDeclaration(source, member)
    if (nested !== undefined) out.push(nested)
  }
  return out
}

const typeDeclaration = (source: string, node: Node): CodeSymbol | undefined => {
  const kind = TYPE_KINDS[node.type]
  if (kind === undefined) return undefined
  const body = node.childForFieldName("body")
  return symbol({
    kind,
    name: fieldText(node, "name") ?? "?",
    signature: head(source, node, body),
    exported: isPublic(node),
    children: members(source, body)
  }, node)
}

export const outline = (root: Node, source: string): CodeOutline => {
  const imports: Array<string> = []
  const symbols: Array<CodeSymbol> = []
  let packageName: string | undefined
  for (const node of root.namedChildren) {
    if (node.type === "package_declaration") {
      packageName = node.namedChildren.find((c) => c.type !== "annotation" && c.type !== "marker_annotation")
        ?.text
    } else if (node.type === "import_declaration") {
      imports.push(oneLine(node.text.replace(/^import\s+/, "").replace(/;$/, "")))
    } else {
      const found = typeDeclaration(source, node)
      if (found !== undefined) symbols.push(found)
    }
  }
  return {
    imports: unique(imports),
    exports: symbols.filter((s) => s.exported).map((s) => s.name),
    symbols,
    errorLines: errorLines(root),
    packageName
  }
}
