/**
 * Outline of Python from the tree-sitter tree: imports, `__all__` (or the public names), classes
 * with their methods and nested classes, functions (async and decorated ones included) with
 * their signatures, and module-level assignments.
 *
 * @since 0.1.0
 */
import type { Node } from "web-tree-sitter"
import { clip, oneLine } from "../Digest.js"
import type { CodeOutline, CodeSymbol } from "../types.js"
import { errorLines, fieldText, head, namedChildrenOf, symbol, unique, unquote } from "./nodes.js"

const definition = (source: string, node: Node, span: Node, inClass: boolean): CodeSymbol | undefined => {
  switch (node.type) {
    case "function_definition": {
      const name = fieldText(node, "name") ?? "?"
      const kind = inClass ? (name === "__init__" ? "constructor" : "method") : "function"
      return symbol({
        kind,
        name,
        signature: head(source, span, node.childForFieldName("body")),
        exported: !name.startsWith("_")
      }, span)
    }
    case "class_definition": {
      const name = fieldText(node, "name") ?? "?"
      const body = node.childForFieldName("body")
      const children: Array<CodeSymbol> = []
      for (const child of namedChildrenOf(body)) {
        const inner = child.type === "decorated_definition" ? child.childForFieldName("definition") : child
        if (inner === null) continue
        const member = definition(source, inner, child, true)
        if (member !== undefined) children.push(member)
      }
      return symbol({
        kind: "class",
        name,
        signature: head(source, span, body),
        exported: !name.startsWith("_"),
        children
      }, span)
    }
  }
  return undefined
}

const importedModules = (node: Node): Array<string> => {
  if (node.type === "import_from_statement") {
    const module = node.childForFieldName("module_name")
    return module === null ? [] : [module.text]
  }
  if (node.type === "future_import_statement") return ["__future__"]
  // `import a.b as c, d`
  return node.childrenForFieldName("name").map((name) =>
    name.type === "aliased_import" ? fieldText(name, "name") ?? name.text : name.text
  )
}

/** `__all__ = ["a", "b"]` → the listed names. */
const dunderAll = (assignment: Node): Array<string> | undefined => {
  if (fieldText(assignment, "left") !== "__all__") return undefined
  const right = assignment.childForFieldName("right")
  return namedChildrenOf(right).filter((e) => e.type === "string").map((e) => unquote(e.text))
}

export const outline = (root: Node, source: string): CodeOutline => {
  const imports: Array<string> = []
  const symbols: Array<CodeSymbol> = []
  let all: Array<string> | undefined
  for (const node of root.namedChildren) {
    switch (node.type) {
      case "import_statement":
      case "import_from_statement":
      case "future_import_statement":
        imports.push(...importedModules(node))
        break
      case "decorated_definition": {
        const inner = node.childForFieldName("definition")
        const found = inner === null ? undefined : definition(source, inner, node, false)
        if (found !== undefined) symbols.push(found)
        break
      }
      case "function_definition":
      case "class_definition": {
        const found = definition(source, node, node, false)
        if (found !== undefined) symbols.push(found)
        break
      }
      case "expression_statement": {
        const assignment = node.namedChildren[0]
        if (assignment?.type !== "assignment") break
        all = dunderAll(assignment) ?? all
        const left = assignment.childForFieldName("left")
        if (left?.type !== "identifier" || left.text === "__all__") break
        const text = oneLine(assignment.text)
        const right = assignment.childForFieldName("right")
        const signature = text.length <= 80 || right === null
          ? text
          : `${oneLine(source.slice(assignment.startIndex, right.startIndex)).replace(/\s*=$/, "")} = …`
        symbols.push(
          symbol({
            kind: "variable",
            name: left.text,
            signature: clip(signature),
            exported: !left.text.startsWith("_")
          }, node)
        )
        break
      }
    }
  }
  const exports = all ?? symbols.filter((s) => s.exported).map((s) => s.name)
  return { imports: unique(imports), exports: unique(exports), symbols, errorLines: errorLines(root) }
}
