/**
 * Outline of Rust from the tree-sitter tree: `use` paths, functions, structs, enums, traits with
 * their methods, `impl` blocks with theirs (named after the implemented type, so `Type.method`
 * finds them), modules with their items, constants, statics, type aliases and macros. Exported
 * means it carries a `pub` visibility.
 *
 * @since 0.1.0
 */
import type { Node } from "web-tree-sitter"
import { oneLine } from "../Digest.js"
import type { CodeOutline, CodeSymbol } from "../types.js"
import { errorLines, fieldText, firstLine, head, namedChildrenOf, symbol, unique } from "./nodes.js"

const isPublic = (node: Node): boolean => node.namedChildren.some((c) => c.type === "visibility_modifier")

/** `Store<T>` → `Store`; `crate::a::Store` → `Store`. */
const baseName = (type: Node | null): string => {
  let node = type
  while (node !== null && node.type === "generic_type") node = node.childForFieldName("type")
  const text = node?.text ?? "?"
  const at = text.lastIndexOf("::")
  return at === -1 ? text : text.slice(at + 2)
}

const KINDS: Readonly<Record<string, string>> = {
  function_item: "function",
  function_signature_item: "function",
  struct_item: "struct",
  enum_item: "enum",
  union_item: "union",
  trait_item: "trait",
  const_item: "const",
  static_item: "static",
  type_item: "type",
  macro_definition: "macro",
  mod_item: "module"
}

const items = (
  source: string,
  nodes: ReadonlyArray<Node>,
  imports: Array<string>,
  inImpl: boolean
): Array<CodeSymbol> => {
  const out: Array<CodeSymbol> = []
  for (const node of nodes) {
    switch (node.type) {
      case "use_declaration":
        imports.push(oneLine(node.childForFieldName("argument")?.text ?? node.text))
        break
      case "extern_crate_declaration":
        imports.push(fieldText(node, "name") ?? node.text)
        break
      case "impl_item": {
        const body = node.childForFieldName("body")
        const name = baseName(node.childForFieldName("type"))
        out.push(symbol({
          kind: "impl",
          name,
          signature: head(source, node, body),
          exported: false,
          children: items(source, namedChildrenOf(body), imports, true)
        }, node))
        break
      }
      default: {
        const kind = KINDS[node.type]
        if (kind === undefined) break
        const name = fieldText(node, "name") ?? "?"
        const body = node.childForFieldName("body")
        const hasBlock = body !== null && (node.type === "function_item" || node.type === "trait_item" ||
          node.type === "mod_item" || node.type === "struct_item" || node.type === "enum_item" ||
          node.type === "union_item")
        const children = node.type === "trait_item" || node.type === "mod_item"
          ? items(source, namedChildrenOf(body), imports, node.type === "trait_item")
          : []
        out.push(symbol({
          kind: inImpl && kind === "function" ? "method" : kind,
          name,
          signature: hasBlock ? head(source, node, body) : firstLine(source, node),
          exported: isPublic(node),
          children
        }, node))
      }
    }
  }
  return out
}

export const outline = (root: Node, source: string): CodeOutline => {
  const imports: Array<string> = []
  const symbols = items(source, root.namedChildren, imports, false)
  return {
    imports: unique(imports),
    exports: symbols.filter((s) => s.exported).map((s) => s.name),
    symbols,
    errorLines: errorLines(root)
  }
}
