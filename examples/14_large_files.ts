/**
 * Example 14 — large files: references instead of content, read back through the memory tools.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/14_large_files.ts
 *
 * A small file goes into a message as its text; a large one (effect's Duration.ts, about 7,000
 * tokens, with `file.inlineThreshold` lowered to 2,000 here) goes in as a reference: an id, the
 * path, the type, the token count and a summary built by a real parser (tree-sitter). The content
 * is kept in the store, once per content, so `describe`, `expand` (a page of lines, or one symbol)
 * and `grep` reach every line of it later — even once the file changed on disk. With
 * `memoryTools: true` the model is offered the same calls as tools; here the program calls them.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { makeLive, Session } from "../src/index.js"

const ROOT = NodePath.join(import.meta.dirname, "..")
/** As a user would name it: relative to the working directory. */
const DURATION = NodePath.relative(
  process.cwd(),
  NodePath.join(ROOT, "node_modules", "effect", "src", "Duration.ts")
)

const program = Effect.scoped(Effect.gen(function*() {
  const session = yield* Session.open({
    model: "anthropic/claude-opus-4-6",
    systemPrompt: "You are a code-review assistant.",
    memoryTools: true,
    // the default threshold is 10,000 tokens; lowered so that this 7,900-token file is a reference
    config: { file: { inlineThreshold: 2_000 } }
  })
  yield* Console.log("== Example 14: large files — references, summaries, and reading them back ==")

  // 1. A small file goes in as its text; a large one as a reference with a parsed summary.
  const small = yield* session.attachFile({
    path: "notes.md",
    content: "# Notes\n\nReview the Duration module.\n"
  })
  yield* Console.log(`notes.md: inline=${small.inline}, ${small.tokens} tokens, type ${small.fileType}`)
  const large = yield* session.attachFile(DURATION)
  yield* Console.log(
    `Duration.ts: inline=${large.inline}, ${large.tokens.toLocaleString("en-US")} tokens, ` +
      `type ${large.fileType}, id ${large.fileId?.slice(0, 17)}…`
  )
  yield* Console.log("its summary (first lines):")
  for (const line of (large.summary ?? "").split("\n").slice(0, 6)) yield* Console.log(`  ${line}`)

  // 2. The message carries the reference: the model's context holds the summary, not the file.
  const turn = yield* session.send([{ type: "text", text: "Please review these." }, small.part, large.part])
  yield* Console.log(
    `\nsent: the context was ${turn.context.total.toLocaleString("en-US")} tokens ` +
      `(the file alone is ${large.tokens.toLocaleString("en-US")})`
  )

  // 3. Reading it back: describe, one symbol, a page from a line, grep inside the content.
  const fileId = large.fileId
  if (fileId === undefined) return yield* Console.log("the file went in as text: nothing to read back")
  const described = yield* session.describe({ id: fileId })
  yield* Console.log(`\ndescribe: ${described.text.split("\n")[0]?.replace(fileId, "file_…")}`)
  const symbol = yield* session.expand({ id: fileId, symbol: "sum" })
  yield* Console.log(`expand symbol=sum: ${symbol.text.split("\n")[0]?.replace(fileId, "file_…")}`)
  const page = yield* session.expand({ id: fileId, line: 100, maxTokens: 300 })
  yield* Console.log(`expand line=100, maxTokens=300: ${page.text.split("\n")[0]?.replace(fileId, "file_…")}`)
  const found = yield* session.grep({ pattern: "toMillis" })
  yield* Console.log(
    `grep "toMillis": ${found.hits.length} message hit(s), ${found.fileHits.length} line(s) in files`
  )
  for (const hit of found.fileHits.slice(0, 3)) {
    yield* Console.log(`  ${hit.path.split("/").pop()}:${hit.line}: ${hit.snippet}`)
  }

  // 4. Content addressing: the same bytes under another path are one stored copy; a changed file
  //    gets a new id while the old one still reads the old content.
  const copy = NodePath.join(
    NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-example-")),
    "Duration.ts"
  )
  NodeFs.copyFileSync(DURATION, copy)
  const again = yield* session.attachFile(copy)
  yield* Console.log(
    `\nthe same content at another path: same id ${again.fileId === fileId}, reused ${again.reused}`
  )
  NodeFs.appendFileSync(copy, "\nexport const addedLater = 1\n")
  const changed = yield* session.attachFile(copy)
  yield* session.send([{ type: "text", text: "The file changed." }, changed.part])
  NodeFs.rmSync(NodePath.dirname(copy), { recursive: true, force: true })
  const old = yield* session.expand({ id: fileId, symbol: "sum" })
  yield* Console.log(
    `changed: new id ${changed.fileId !== fileId}; the old id still expands (${old.items.length} page, ` +
      `file deleted from disk)`
  )

  // 5. A file that cannot be read is a typed error, and nothing is stored.
  const missing = yield* Effect.flip(session.attachFile("no-such-file.ts"))
  yield* Console.log(`\nattachFile of a missing file: ${missing._tag} — ${missing.message}`)
}))

program.pipe(Effect.provide(makeLive()), NodeRuntime.runMain)
