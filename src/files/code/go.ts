/**
 * Outline of Go from the tree-sitter tree: package, imports, types (structs and interfaces with
 * their methods), functions, methods grouped under their receiver type, constants and variables.
 * Exported means capitalised, as in Go.
 *
 * @since 0.1.0
 */
import type { Node } from "web-tree-sitter"
import type { CodeOutline, CodeSymbol } from "../types.js"
import { errorLines, fieldText, firstLine, head, symbol, unique, unquote } from "./nodes.js"

const isExported = (name: string): boolean => /^\p{Lu}/u.test(name)

/** `(s *Store[T])` → `Store`. */
const receiverType = (method: Node): string => {
  const declaration = method.childForFieldName("receiver")?.namedChildren.find((c) =>
    c.type === "parameter_declaration"
  )
  let type = declaration?.childForFieldName("type") ?? null
  while (type !== null && (type.type === "pointer_type" || type.type === "generic_type")) {
    type = type.type === "pointer_type" ? type.namedChildren[0] ?? null : type.childForFieldName("type")
  }
  return type?.text ?? "?"
}

const typeSpec = (source: string, spec: Node, span: Node): CodeSymbol => {
  const name = fieldText(spec, "name") ?? "?"
  const type = spec.childForFieldName("type")
  const kind = type?.type === "struct_type"
    ? "struct"
    : type?.type === "interface_type"
    ? "interface"
    : "type"
  const children = type?.type === "interface_type"
    ? type.namedChildren.filter((m) => m.type === "method_elem" || m.type === "method_spec").map((m) =>
      symbol({
        kind: "method",
        name: fieldText(m, "name") ?? "?",
        signature: firstLine(source, m),
        exported: isExported(fieldText(m, "name") ?? "")
      }, m)
    )
    : []
  // The head stops where the struct's fields or the interface's methods begin.
  const bodyStart = type === null ? undefined : source.indexOf("{", type.startIndex)
  const signature = bodyStart === undefined || bodyStart === -1 || bodyStart > type!.endIndex
    ? firstLine(source, span)
    : head(source, span, bodyStart)
  return symbol({
    kind,
    name,
    signature: signature.startsWith("type") ? signature : `type ${signature}`,
    exported: isExported(name),
    children
  }, span)
}

export const outline = (root: Node, source: string): CodeOutline => {
  const imports: Array<string> = []
  const symbols: Array<CodeSymbol> = []
  const methods: Array<{ readonly receiver: string; readonly method: CodeSymbol }> = []
  let packageName: string | undefined
  for (const node of root.namedChildren) {
    switch (node.type) {
      case "package_clause":
        packageName = node.namedChildren[0]?.text
        break
      case "import_declaration":
        for (const spec of node.descendantsOfType("import_spec")) {
          const path = fieldText(spec, "path")
          if (path !== undefined) imports.push(unquote(path))
        }
        break
      case "function_declaration": {
        const name = fieldText(node, "name") ?? "?"
        symbols.push(
          symbol({
            kind: "function",
            name,
            signature: head(source, node, node.childForFieldName("body")),
            exported: isExported(name)
          }, node)
        )
        break
      }
      case "method_declaration": {
        const name = fieldText(node, "name") ?? "?"
        methods.push({
          receiver: receiverType(node),
          method: symbol({
            kind: "method",
            name,
            signature: head(source, node, node.childForFieldName("body")),
            exported: isExported(name)
          }, node)
        })
        break
      }
      case "type_declaration": {
        const specs = node.namedChildren.filter((c) => c.type === "type_spec" || c.type === "type_alias")
        for (const spec of specs) symbols.push(typeSpec(source, spec, specs.length === 1 ? node : spec))
        break
      }
      case "const_declaration":
      case "var_declaration": {
        const kind = node.type === "const_declaration" ? "const" : "var"
        const specs = node.namedChildren.filter((c) => c.type === "const_spec" || c.type === "var_spec")
        for (const spec of specs) {
          const names = spec.childrenForFieldName("name").map((n) => n.text)
          const name = names.join(", ")
          const text = firstLine(source, spec)
          symbols.push(
            symbol(
              { kind, name, signature: `${kind} ${text}`, exported: names.some(isExported) },
              specs.length === 1 ? node : spec
            )
          )
        }
        break
      }
    }
  }
  // Methods join their receiver's type when the file declares it (so `Type.Method` names them).
  const withMethods = symbols.map((s) => {
    const own = methods.filter((m) => m.receiver === s.name && (s.kind === "struct" || s.kind === "type"))
    return own.length === 0 ? s : { ...s, children: [...s.children, ...own.map((m) => m.method)] }
  })
  const declared = new Set(
    withMethods.filter((s) => s.kind === "struct" || s.kind === "type").map((s) => s.name)
  )
  const orphans = methods.filter((m) => !declared.has(m.receiver)).map((m) => ({
    ...m.method,
    name: `${m.receiver}.${m.method.name}`
  }))
  const all = [...withMethods, ...orphans].sort((a, b) => a.startLine - b.startLine)
  return {
    imports: unique(imports),
    exports: all.filter((s) => s.exported).map((s) => s.name),
    symbols: all,
    errorLines: errorLines(root),
    packageName
  }
}
