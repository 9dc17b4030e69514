/**
 * Tree-sitter parsers, loaded on first use. The runtime is `web-tree-sitter` (the official WASM
 * binding) and the grammars are the prebuilt `.wasm` files of `@vscode/tree-sitter-wasm`; both are
 * read from `node_modules`, nothing is fetched. One parser per language is kept for the life of the
 * process (a grammar costs a few milliseconds to instantiate, a parse far less than that per KB).
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { createRequire } from "node:module"
import { Language, Parser } from "web-tree-sitter"
import type { CodeType } from "../types.js"

/** A grammar could not be loaded (missing package, incompatible WASM): the summary degrades. */
export class GrammarUnavailable extends Data.TaggedError("GrammarUnavailable")<{
  readonly language: CodeType
  readonly reason: string
}> {}

const GRAMMAR_FILES: Readonly<Record<CodeType, string>> = {
  typescript: "tree-sitter-typescript.wasm",
  tsx: "tree-sitter-tsx.wasm",
  javascript: "tree-sitter-javascript.wasm",
  python: "tree-sitter-python.wasm",
  go: "tree-sitter-go.wasm",
  rust: "tree-sitter-rust.wasm",
  java: "tree-sitter-java.wasm"
}

const require = createRequire(import.meta.url)

let runtime: Promise<void> | undefined
const parsers = new Map<CodeType, Promise<Parser>>()

const load = async (language: CodeType): Promise<Parser> => {
  runtime ??= Parser.init()
  try {
    await runtime
  } catch (error) {
    runtime = undefined
    throw error
  }
  const grammar = await Language.load(
    require.resolve(`@vscode/tree-sitter-wasm/wasm/${GRAMMAR_FILES[language]}`)
  )
  const parser = new Parser()
  parser.setLanguage(grammar)
  return parser
}

/** The parser for `language`, loading its grammar on first use. */
export const parserFor = (language: CodeType): Effect.Effect<Parser, GrammarUnavailable> =>
  Effect.tryPromise({
    try: () => {
      let parser = parsers.get(language)
      if (parser === undefined) {
        parser = load(language)
        parsers.set(language, parser)
        // A failed load is not cached: the next file tries again.
        void parser.catch(() => parsers.delete(language))
      }
      return parser
    },
    catch: (error) =>
      new GrammarUnavailable({ language, reason: error instanceof Error ? error.message : String(error) })
  })
