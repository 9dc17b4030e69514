/**
 * Outline of TypeScript, TSX and JavaScript (ES modules and CommonJS) from the tree-sitter trees:
 * imports (static and `require`), exports, top-level declarations with their heads, classes and
 * interfaces with their methods, namespaces and `declare module` blocks with their contents.
 *
 * @since 0.1.0
 */
import type { Node } from "web-tree-sitter"
import { clip } from "../Digest.js"
import type { CodeOutline, CodeSymbol } from "../types.js"
import {
  errorLines,
  fieldText,
  firstLine,
  head,
  namedChildrenOf,
  symbol,
  tidy,
  unique,
  unquote,
  withoutComments
} from "./nodes.js"

interface Acc {
  readonly imports: Array<string>
  readonly exports: Array<string>
}

const CLASS_TYPES = new Set(["class_declaration", "abstract_class_declaration", "class"])
/** A declarator longer than this in the source is never shown whole (only its head). */
const SHORT_VALUE_SOURCE_CHARS = 2_000
const FUNCTION_VALUES = new Set(["arrow_function", "function_expression", "function", "generator_function"])

/** `require("x")` → `x`. */
const requiredModule = (node: Node | null): string | undefined => {
  if (node?.type !== "call_expression" || node.childForFieldName("function")?.text !== "require") {
    return undefined
  }
  const argument = node.childForFieldName("arguments")?.namedChildren[0]
  return argument?.type === "string" ? unquote(argument.text) : undefined
}

const members = (source: string, body: Node | null): Array<CodeSymbol> => {
  const out: Array<CodeSymbol> = []
  for (const member of namedChildrenOf(body)) {
    switch (member.type) {
      case "method_definition":
      case "method_signature":
      case "abstract_method_signature": {
        const name = fieldText(member, "name") ?? "?"
        const kind = name === "constructor" ? "constructor" : "method"
        out.push(
          symbol({
            kind,
            name,
            signature: head(source, member, member.childForFieldName("body")),
            exported: false
          }, member)
        )
        break
      }
      case "property_signature": {
        // Interface members: the API a reader looks for.
        const name = fieldText(member, "name") ?? "?"
        out.push(symbol({ kind: "property", name, signature: head(source, member), exported: false }, member))
        break
      }
      case "public_field_definition":
      case "field_definition": {
        // Fields holding a function are methods in all but syntax.
        const value = member.childForFieldName("value")
        if (value !== null && FUNCTION_VALUES.has(value.type)) {
          const name = fieldText(member, "name") ?? fieldText(member, "property") ?? "?"
          out.push(
            symbol({
              kind: "method",
              name,
              signature: head(source, member, value.childForFieldName("body")),
              exported: false
            }, member)
          )
        }
        break
      }
    }
  }
  return out
}

const declaration = (
  source: string,
  node: Node,
  span: Node,
  exported: boolean,
  acc: Acc
): Array<CodeSymbol> => {
  const make = (kind: string, name: string, end: Node | null, children?: Array<CodeSymbol>) =>
    symbol({ kind, name, signature: head(source, span, end), exported, children: children ?? [] }, span)
  switch (node.type) {
    case "function_declaration":
    case "generator_function_declaration":
    case "function_signature":
      return [make("function", fieldText(node, "name") ?? "?", node.childForFieldName("body"))]
    case "class_declaration":
    case "abstract_class_declaration": {
      const body = node.childForFieldName("body")
      return [make("class", fieldText(node, "name") ?? "?", body, members(source, body))]
    }
    case "interface_declaration": {
      const body = node.childForFieldName("body")
      return [make("interface", fieldText(node, "name") ?? "?", body, members(source, body))]
    }
    case "type_alias_declaration":
      return [
        symbol({
          kind: "type",
          name: fieldText(node, "name") ?? "?",
          signature: firstLine(source, span),
          exported
        }, span)
      ]
    case "enum_declaration":
      return [make("enum", fieldText(node, "name") ?? "?", node.childForFieldName("body"))]
    case "lexical_declaration":
    case "variable_declaration": {
      const keyword = node.child(0)?.text ?? "const"
      const out: Array<CodeSymbol> = []
      for (const declarator of node.namedChildren) {
        if (declarator.type !== "variable_declarator") continue
        const name = fieldText(declarator, "name") ?? "?"
        const value = declarator.childForFieldName("value")
        const required = requiredModule(value)
        if (required !== undefined) {
          acc.imports.push(required)
          continue
        }
        const prefix = exported ? `export ${keyword}` : keyword
        if (value !== null && FUNCTION_VALUES.has(value.type)) {
          const signature = clip(
            `${prefix} ${
              tidy(
                withoutComments(
                  source,
                  declarator,
                  value.childForFieldName("body")?.startIndex ?? value.endIndex
                )
              ).replace(/\s*=>$/, "")
            }`
          )
          out.push(
            symbol(
              { kind: "function", name, signature, exported },
              node.namedChildren.length === 1 ? span : declarator
            )
          )
        } else if (value !== null && CLASS_TYPES.has(value.type)) {
          const body = value.childForFieldName("body")
          const signature = clip(
            `${prefix} ${tidy(withoutComments(source, declarator, body?.startIndex ?? value.endIndex))}`
          )
          out.push(
            symbol({ kind: "class", name, signature, exported, children: members(source, body) }, span)
          )
        } else {
          // Short values say what the constant is; long ones are elided (a value spanning thousands
          // of characters is never short once tidied: it is not read whole).
          const short = declarator.endIndex - declarator.startIndex <= SHORT_VALUE_SOURCE_CHARS
          const text = short ? tidy(withoutComments(source, declarator, declarator.endIndex)) : ""
          const signature = short && text.length <= 80
            ? text
            : `${
              tidy(withoutComments(source, declarator, value?.startIndex ?? declarator.endIndex)).replace(
                /\s*=$/,
                ""
              )
            } = …`
          out.push(
            symbol(
              { kind: keyword, name, signature: clip(`${prefix} ${signature}`), exported },
              node.namedChildren.length === 1 ? span : declarator
            )
          )
        }
      }
      return out
    }
    case "ambient_declaration": {
      // `declare …`: the declaration inside, or a `declare module "x" { … }` / `declare global { … }` block.
      const inner = node.namedChildren.find((c) => c.type !== "comment")
      if (inner === undefined) return []
      if (inner.type === "statement_block") {
        return [make("module", "global", inner, statements(source, inner.namedChildren, acc, false))]
      }
      return declaration(source, inner, span, exported, acc)
    }
    case "module":
    case "internal_module": {
      const body = node.childForFieldName("body")
      const name = unquote(fieldText(node, "name") ?? "?")
      return [
        make(
          node.type === "module" ? "module" : "namespace",
          name,
          body,
          statements(source, namedChildrenOf(body), acc, false)
        )
      ]
    }
    case "expression_statement": {
      // `namespace X {}` parses as an expression statement in some grammar versions.
      const inner = node.namedChildren[0]
      if (inner?.type === "internal_module") return declaration(source, inner, span, exported, acc)
      return []
    }
  }
  return []
}

/** CommonJS exports: `module.exports = …`, `module.exports.x = …`, `exports.x = …`. */
const commonJsExport = (node: Node): string | undefined => {
  const expression = node.namedChildren[0]
  if (expression?.type !== "assignment_expression") return undefined
  const left = expression.childForFieldName("left")?.text ?? ""
  if (left === "module.exports") return "module.exports"
  if (left.startsWith("module.exports.")) return left.slice("module.exports.".length)
  if (left.startsWith("exports.")) return left.slice("exports.".length)
  return undefined
}

const exportClause = (node: Node): Array<string> =>
  node.namedChildren.filter((s) => s.type === "export_specifier").map((s) => {
    const alias = fieldText(s, "alias")
    return alias ?? fieldText(s, "name") ?? s.text
  })

const statements = (
  source: string,
  nodes: ReadonlyArray<Node>,
  acc: Acc,
  topLevel: boolean
): Array<CodeSymbol> => {
  const out: Array<CodeSymbol> = []
  for (const node of nodes) {
    switch (node.type) {
      case "import_statement": {
        const from = node.childForFieldName("source")
        // `import x = require("y")` has no source field.
        const text = from === null ? node.descendantsOfType("string")[0]?.text : from.text
        if (text !== undefined) acc.imports.push(unquote(text))
        break
      }
      case "export_statement": {
        const inner = node.childForFieldName("declaration")
        const from = node.childForFieldName("source")
        if (inner !== null) {
          const symbols = declaration(source, inner, node, true, acc)
          const isDefault = node.children.some((c) => c.type === "default")
          if (topLevel) acc.exports.push(...symbols.map((s) => isDefault ? `default (${s.name})` : s.name))
          out.push(...symbols)
          break
        }
        const clause = node.namedChildren.find((c) => c.type === "export_clause")
        const names = clause === undefined ? [] : exportClause(clause)
        const star = node.children.some((c) => c.type === "*")
        const suffix = from === null ? "" : ` from ${unquote(from.text)}`
        if (star) {
          const namespace = node.namedChildren.find((c) => c.type === "namespace_export")
          acc.exports.push(`${namespace === undefined ? "*" : namespace.text}${suffix}`)
        } else if (names.length > 0) {
          acc.exports.push(...names.map((n) => `${n}${suffix}`))
        } else if (node.children.some((c) => c.type === "default")) {
          const value = node.childForFieldName("value")
          acc.exports.push(value?.type === "identifier" ? `default (${value.text})` : "default")
        } else if (node.children.some((c) => c.type === "=")) {
          acc.exports.push(`export = ${node.namedChildren[0]?.text ?? "?"}`)
        }
        if (from !== null) acc.imports.push(unquote(from.text))
        break
      }
      case "expression_statement": {
        const name = commonJsExport(node)
        if (name !== undefined) {
          acc.exports.push(name)
          break
        }
        out.push(...declaration(source, node, node, false, acc))
        break
      }
      default:
        out.push(...declaration(source, node, node, false, acc))
    }
  }
  return out
}

const FUNCTIONS = new Set(["function_expression", "function", "arrow_function"])

/**
 * The body of a module wrapper — `(function (root, factory) { … })(this, function () { … })` (UMD)
 * or `(() => { … })()` (IIFE) — the largest function body among the top-level call's callee and
 * arguments, when the file declares nothing at its top level.
 */
const wrapperBody = (root: Node): Node | undefined => {
  let best: Node | undefined
  for (const statement of root.namedChildren) {
    let call = statement.type === "expression_statement" ? statement.namedChildren[0] : undefined
    // `(function () { … }())`, `!function () { … }()`
    while (call?.type === "parenthesized_expression" || call?.type === "unary_expression") {
      call = call.namedChildren[0]
    }
    if (call?.type !== "call_expression") continue
    const candidates = [
      call.childForFieldName("function"),
      ...namedChildrenOf(call.childForFieldName("arguments"))
    ]
      .map((c) => c?.type === "parenthesized_expression" ? c.namedChildren[0] ?? null : c)
    for (const candidate of candidates) {
      const body = candidate !== null && FUNCTIONS.has(candidate.type)
        ? candidate.childForFieldName("body")
        : null
      if (body?.type === "statement_block" && (best === undefined || body.text.length > best.text.length)) {
        best = body
      }
    }
  }
  return best
}

export const outline = (root: Node, source: string): CodeOutline => {
  const acc: Acc = { imports: [], exports: [] }
  let symbols = statements(source, root.namedChildren, acc, true)
  const wrapper = symbols.length === 0 ? wrapperBody(root) : undefined
  if (wrapper !== undefined) symbols = statements(source, wrapper.namedChildren, acc, false)
  return {
    imports: unique(acc.imports),
    exports: unique(acc.exports),
    symbols,
    errorLines: errorLines(root),
    ...(wrapper === undefined ? {} : { wrapperLine: wrapper.startPosition.row + 1 })
  }
}
