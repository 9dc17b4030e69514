/**
 * Prompt templates of the operators: text with `{{ item }}` placeholders, or paths into the item
 * (`{{ item.title }}`, `{{ item.authors.0 }}`). A template is checked once, before any call: it
 * must use the item, and every placeholder must name it (a typo would otherwise send every
 * prompt without it). Strings render as they are, anything else as JSON; a path the item lacks
 * fails that item alone.
 *
 * @internal
 */
import { Either } from "effect"
import { InvalidInput } from "../Errors.js"

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g
const PATH = /^item(?:\.[A-Za-z0-9_$-]+)*$/

type Piece = { readonly text: string } | { readonly path: ReadonlyArray<string>; readonly source: string }

export interface Template {
  readonly source: string
  readonly pieces: ReadonlyArray<Piece>
}

/** Parses and checks a template; `InvalidInput` naming `field` when it cannot be used. */
export const parse = (source: string, field = "template"): Either.Either<Template, InvalidInput> => {
  const pieces: Array<Piece> = []
  let last = 0
  let usesItem = false
  for (const match of source.matchAll(PLACEHOLDER)) {
    const expression = match[1]!
    if (!PATH.test(expression)) {
      return Either.left(
        new InvalidInput({
          field,
          reason: `"${match[0]}" is not a placeholder of the item; write {{ item }} or a path such as ` +
            "{{ item.title }}"
        })
      )
    }
    usesItem = true
    if (match.index > last) pieces.push({ text: source.slice(last, match.index) })
    pieces.push({ path: expression.split(".").slice(1), source: match[0] })
    last = match.index + match[0].length
  }
  if (!usesItem) {
    return Either.left(
      new InvalidInput({
        field,
        reason: "must use the item, as {{ item }} or a path such as {{ item.title }}"
      })
    )
  }
  if (last < source.length) pieces.push({ text: source.slice(last) })
  return Either.right({ source, pieces })
}

const show = (value: unknown): string =>
  typeof value === "string" ? value : JSON.stringify(value) ?? String(value)

/** The prompt for one item, or why the item cannot fill the template. */
export const render = (template: Template, item: unknown): Either.Either<string, string> => {
  let out = ""
  for (const piece of template.pieces) {
    if ("text" in piece) {
      out += piece.text
      continue
    }
    let value: unknown = item
    for (const key of piece.path) {
      const own = value !== null && typeof value === "object"
        ? Object.getOwnPropertyDescriptor(value, key)
        : undefined
      if (own === undefined) {
        return Either.left(`the item has no "${piece.path.join(".")}" for ${piece.source}`)
      }
      value = own.value
    }
    if (value === undefined) return Either.left(`the item's "${piece.path.join(".")}" is undefined`)
    out += show(value)
  }
  return Either.right(out)
}
