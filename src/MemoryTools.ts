/**
 * The model's memory: three tools that reach everything compaction took out of the context.
 *
 * - `grep` searches the session's whole immutable history (messages, tool inputs and outputs,
 *   summaries) — full text through SQLite FTS5 by default, or a regular expression (RE2 syntax,
 *   matched in linear time) over a time-bounded scan — and says where each hit lives now: in the
 *   context, or under which active summary — then the contents of the files the session's
 *   messages reference, line by line.
 * - `describe` tells what an id is: a summary (kind, depth, span, what it condenses, file ids,
 *   text), a message (role, seq, parts, what covers it) or a file (path, type, size, summary).
 * - `expand` returns the originals a summary stands for (or one message in full, pruned tool
 *   outputs included), or a file's numbered lines (or one symbol's), a page at a time.
 *
 * Every answer is compact, self-describing text under a token cap, with an opaque cursor for the
 * next page, so a model can chain grep → describe → expand without flooding its own context. The
 * same functions serve host programs (`session.grep(…)`), returning structured results too.
 * Only the session's own history is read (plus, when asked, its parent's and children's).
 *
 * @since 0.1.0
 */
import { Clock, Effect, Metric, Option, ParseResult, Schema } from "effect"
import { messageTranscript } from "./compaction/Transcript.js"
import type { Count } from "./context/Render.js"
import { renderSummary } from "./context/Render.js"
import type { ContextItem, FileId, Message, MessageId, SessionId, SummaryId, SummaryNode } from "./Domain.js"
import { InvalidInput } from "./Errors.js"
import { coverage } from "./memory/coverage.js"
import * as Cursor from "./memory/cursor.js"
import * as MemoryFiles from "./memory/files.js"
import * as Regex from "./memory/regex.js"
import { ceilBoundary, clipChars, firstCharLength, floorBoundary, sliceChars } from "./memory/text.js"
import * as Metrics from "./Metrics.js"
import type { RunInfo } from "./operators/Run.js"
import * as RunPages from "./operators/RunPages.js"
import type * as Storage from "./Storage.js"
import * as Tool from "./Tool.js"

/** What the memory tools may read. */
export interface MemoryScope {
  readonly store: Storage.Service
  /** The session asking. */
  readonly sessionId: SessionId
  /** Sessions whose history is readable: the session, and its relatives when opted in. */
  readonly sessionIds: ReadonlyArray<SessionId>
  readonly count: Count
  /** The asking session's active context. */
  readonly contextItems: Effect.Effect<ReadonlyArray<ContextItem>, Storage.StoreFailure>
}

type Failure = InvalidInput | Storage.StoreFailure

/** Token caps of the answers. */
export const GREP_MAX_TOKENS = 2_000
export const EXPAND_DEFAULT_TOKENS = 4_000
export const EXPAND_MAX_TOKENS = 16_000
const REGEX_TIME_BUDGET_MS = 2_000
/** Rows read per store page of a regex scan. */
const SCAN_PAGE = 500
/** Characters shown either side of a regex match, and of the match itself. */
const SNIPPET_CHARS = 80
const MATCH_CHARS = 120
/** Longest hit line, and longest echo of the pattern in a page's first line. */
const LINE_CHARS = 400
const PATTERN_SHOWN = 100

// ---------------------------------------------------------------------------------------------
// grep
// ---------------------------------------------------------------------------------------------

export const GrepInput = Schema.Struct({
  pattern: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500)),
  mode: Schema.optional(Schema.Literal("fulltext", "regex")).annotations({
    description: "fulltext (words, default) or regex (RE2 syntax, case-insensitive; " +
      "no backreferences or lookaround)"
  }),
  summaryId: Schema.optional(Schema.String).annotations({ description: "only what this summary covers" }),
  limit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 100))),
  cursor: Schema.optional(Schema.String).annotations({
    description: "from a previous answer, for the next page"
  })
})
export type GrepInput = typeof GrepInput.Type

/** Where a hit lives now. */
export type Location =
  | { readonly kind: "in_context" }
  | { readonly kind: "covered"; readonly summaryId: SummaryId }
  | { readonly kind: "summary"; readonly summaryId: SummaryId }
  | { readonly kind: "history" }

export interface GrepHit {
  readonly sessionId: SessionId
  readonly messageId: MessageId
  readonly role: "user" | "assistant"
  readonly seq: number
  readonly snippet: string
  readonly location: Location
}

export interface GrepResult {
  readonly hits: ReadonlyArray<GrepHit>
  /** Matches in the contents of the files the session's messages reference (after the message hits). */
  readonly fileHits: ReadonlyArray<MemoryFiles.FileHit>
  readonly nextCursor?: string | undefined
  /** Set when a regex scan stopped at its time budget before the end. */
  readonly stoppedEarly?: boolean | undefined
  /** The answer as the model reads it. */
  readonly text: string
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim()

/** The match marked `[…]` with some text either side; a long match shows its two ends. */
const regexSnippet = (text: string, start: number, end: number): string => {
  const from = floorBoundary(text, start - SNIPPET_CHARS)
  const to = ceilBoundary(text, end + SNIPPET_CHARS)
  const matched = text.slice(start, end)
  const shown = matched.length <= MATCH_CHARS
    ? matched
    : `${sliceChars(matched, 0, MATCH_CHARS - 30)}…${sliceChars(matched, matched.length - 30)}`
  return oneLine(
    `${from > 0 ? "…" : ""}${text.slice(from, start)}[${shown}]${text.slice(end, to)}${
      to < text.length ? "…" : ""
    }`
  )
}

const describeLocation = (location: Location): string => {
  switch (location.kind) {
    case "in_context":
      return "in context"
    case "covered":
      return `covered by ${location.summaryId}`
    case "summary":
      return `in summary ${location.summaryId}`
    case "history":
      return "history only"
  }
}

/** Finds a summary of a readable session, or fails with a message the model can act on. */
const findSummary = (scope: MemoryScope, id: string) =>
  Effect.flatMap(
    scope.store.summaries([id as SummaryId]),
    ([node]) =>
      node === undefined || !scope.sessionIds.includes(node.sessionId)
        ? Effect.fail(
          new InvalidInput({
            field: "summaryId",
            reason: `no summary ${id} in this session; get ids from grep or the context`
          })
        )
        : Effect.succeed(node)
  )

/** Host calls (`session.grep` …) get the same limits as the model's tool calls. */
const checkInput = <A, I>(schema: Schema.Schema<A, I>, tool: string, input: unknown) =>
  Effect.mapError(Schema.decodeUnknown(schema)(input), (error) => {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
    return new InvalidInput({
      field: [tool, ...(issue?.path ?? []).map(String)].join("."),
      reason: issue?.message ?? "invalid input"
    })
  })

/** A hit before its location is known. */
interface Found {
  readonly hit: Omit<GrepHit, "location">
  readonly position: number
  readonly summaryId?: SummaryId | undefined
}

export const grep = (scope: MemoryScope, request: GrepInput): Effect.Effect<GrepResult, Failure> =>
  Effect.gen(function*() {
    const input = yield* checkInput(GrepInput, "grep", request)
    const mode = input.mode ?? "fulltext"
    const limit = input.limit ?? 20
    const queryKey = `${mode}\u0000${input.pattern}\u0000${input.summaryId ?? ""}`
    const cursor = yield* Cursor.read(input.cursor, "grep", queryKey)
    // a cursor with a file continues in the file contents, after every message hit
    const inFiles = cursor?.f !== undefined
    const after = inFiles ? 0 : cursor?.p ?? 0
    // Within a summary: what it covers, in its session only (a relative's messages can share seqs).
    const within = input.summaryId === undefined ? undefined : yield* findSummary(scope, input.summaryId)
    const covered = within === undefined ? undefined : yield* coverage(scope.store, within)
    const sessionIds = within === undefined ? scope.sessionIds : [within.sessionId]
    const seqRange = covered?.seqRange
    const isCovered = (messageId: MessageId) => covered === undefined || covered.messageIds.has(messageId)

    // Hits (one more than the page, to know whether another page follows).
    const found: Array<Found> = []
    let stoppedEarly = false
    let lastScanned = after
    /** Texts longer than the pattern's window, searched only in their first part. */
    let clipped = 0
    let window = 0
    let examined = 0
    const started = yield* Clock.currentTimeMillis
    const pattern = mode === "regex" ? yield* Regex.compile(input.pattern) : undefined
    if (inFiles) {
      // the message hits were all on earlier pages
    } else if (mode === "fulltext") {
      for (;;) {
        const page = yield* scope.store.search({
          sessionIds,
          text: input.pattern,
          limit: limit + 1,
          after: lastScanned,
          seqRange
        })
        for (const hit of page) {
          lastScanned = hit.position
          if (!isCovered(hit.messageId)) continue
          found.push({ hit, position: hit.position, summaryId: hit.summaryId })
          if (found.length > limit) break
        }
        if (found.length > limit || page.length <= limit) break
      }
    } else if (pattern !== undefined) {
      window = pattern.window
      scan: for (;;) {
        const page = yield* scope.store.scan({ sessionIds, after: lastScanned, limit: SCAN_PAGE, seqRange })
        for (const row of page) {
          // The budget is checked per text: each search is bounded (see Regex), the sum is not.
          // (after one text at least, so that a page always moves the cursor forward)
          if (examined > 0 && (yield* Clock.currentTimeMillis) - started > REGEX_TIME_BUDGET_MS) {
            stoppedEarly = true
            break scan
          }
          examined++
          lastScanned = row.position
          if (!isCovered(row.messageId)) continue
          if (row.text.length > window) clipped++
          const match = pattern.find(row.text)
          if (match === undefined) continue
          found.push({
            hit: { ...row, snippet: regexSnippet(row.text, match.start, match.end) },
            position: row.position,
            summaryId: row.summaryId
          })
          if (found.length > limit) break scan
        }
        if (page.length < SCAN_PAGE) break
        // let other fibers run between pages of a long scan
        yield* Effect.yieldNow()
      }
    }

    // Where each hit lives now.
    const inContext = new Set<string>((yield* scope.contextItems).map((item) => item.id))
    const covers = yield* scope.store.activeCovers(
      found.filter((r) => r.summaryId === undefined && !inContext.has(r.hit.messageId)).map((r) =>
        r.hit.messageId
      )
    )
    const located = found.map((r): { hit: GrepHit; position: number } => ({
      position: r.position,
      hit: {
        ...r.hit,
        location: r.summaryId !== undefined
          ? { kind: "summary", summaryId: r.summaryId }
          : inContext.has(r.hit.messageId)
          ? { kind: "in_context" }
          : covers.has(r.hit.messageId)
          ? { kind: "covered", summaryId: covers.get(r.hit.messageId)! }
          : { kind: "history" }
      }
    }))

    // Then the contents of the files the session references (not within a summary: a summary covers
    // messages, not files), for the rest of the page.
    const fileMatch = pattern === undefined ? MemoryFiles.fullTextMatcher(input.pattern) : pattern.find
    const files =
      input.summaryId !== undefined || stoppedEarly || found.length > limit || fileMatch === undefined
        ? { hits: [] }
        : yield* MemoryFiles.search(scope, {
          match: fileMatch,
          after: cursor?.f === undefined ? undefined : { file: cursor.f, line: cursor.p },
          limit: limit + 1 - found.length,
          // file contents are searched here, not by an index: bounded in both modes
          deadline: started + REGEX_TIME_BUDGET_MS
        })
    if (files.stoppedAt !== undefined) stoppedEarly = true
    /** Every hit in page order, with where the next page starts when it is the last one shown. */
    const entries: Array<
      & { readonly line: string; readonly resume: Cursor.Position }
      & (
        | { readonly kind: "message"; readonly hit: GrepHit }
        | { readonly kind: "file"; readonly hit: MemoryFiles.FileHit }
      )
    > = [
      ...located.map(({ hit, position }) => ({
        kind: "message" as const,
        hit,
        resume: { p: position },
        line: clipChars(
          `${hit.messageId} #${hit.seq} ${hit.role} [${describeLocation(hit.location)}]: ${hit.snippet}`,
          LINE_CHARS
        )
      })),
      ...files.hits.map(({ hit, resume }) => ({
        kind: "file" as const,
        hit,
        resume: MemoryFiles.toCursor(resume),
        line: clipChars(`${hit.fileId} ${hit.path}:${hit.line}: ${hit.snippet}`, LINE_CHARS)
      }))
    ]
    /** Where a search that stopped at its time budget goes on. */
    const stoppedResume: Cursor.Position | undefined = files.stoppedAt !== undefined
      ? MemoryFiles.toCursor(files.stoppedAt)
      : stoppedEarly
      ? { p: lastScanned }
      : undefined

    // The answer, within the token cap: measured as rendered, framing and cursor included.
    const header = `grep ${JSON.stringify(clipChars(input.pattern, PATTERN_SHOWN))} (${mode}${
      input.summaryId === undefined ? "" : ` within ${input.summaryId}`
    })`
    const lines = entries.slice(0, limit).map((entry) => entry.line)
    const note = clipped === 0 ? [] : [
      `(${clipped} long text${
        clipped === 1 ? " was" : "s were"
      } searched in their first ${window} characters ` +
      "only; a shorter pattern searches further)"
    ]
    const render = (shown: number) => {
      const next = shown < entries.length
        ? entries[shown - 1]?.resume ?? cursor ?? { p: after }
        : stoppedResume
      const nextCursor = next === undefined ? undefined : Cursor.encode("grep", queryKey, next)
      const summary = shown === 0
        ? `${header}: no ${cursor === undefined ? "" : "more "}matches${
          stoppedEarly ? " in the part scanned so far" : ""
        }.`
        : `${header}: ${shown} hit${shown === 1 ? "" : "s"}${cursor === undefined ? "" : " (continued)"}`
      const footer = nextCursor === undefined
        ? (shown === 0 ? [] : ["(end of results)"])
        : [
          `${stoppedEarly ? "(the scan stopped at its time budget) " : ""}more: grep again with cursor ${
            JSON.stringify(nextCursor)
          }`
        ]
      const page = entries.slice(0, shown)
      return {
        hits: page.flatMap((entry) => entry.kind === "message" ? [entry.hit] : []),
        fileHits: page.flatMap((entry) => entry.kind === "file" ? [entry.hit] : []),
        nextCursor,
        stoppedEarly,
        text: [summary, ...lines.slice(0, shown), ...note, ...footer].join("\n")
      } satisfies GrepResult
    }
    // As many lines as the estimate allows, then fewer until the whole page is within the cap.
    let shown = 0
    // (the empty page carries the framing: first line, note, and a cursor when hits exist)
    let used = scope.count(render(0).text) + 8
    for (const line of lines) {
      used += scope.count(line) + 1
      if (used > GREP_MAX_TOKENS) break
      shown++
    }
    shown = Math.max(shown, Math.min(1, lines.length))
    let result = render(shown)
    while (shown > 1 && scope.count(result.text) > GREP_MAX_TOKENS) result = render(--shown)
    // One line alone over the cap (a snippet of rare characters): keep the part that fits.
    const alone = lines[0] ?? ""
    let room = GREP_MAX_TOKENS - scope.count(render(0).text)
    while (shown === 1 && scope.count(result.text) > GREP_MAX_TOKENS && room > 1) {
      room = Math.floor(room * 0.9)
      lines[0] = `${alone.slice(0, fitPrefix(alone, room, scope.count))}…`
      result = render(1)
    }
    return result
  }).pipe(
    Effect.tap((r) =>
      Effect.annotateCurrentSpan({
        "mnesis.grep.hits": r.hits.length,
        "mnesis.grep.more": r.nextCursor !== undefined
      })
    ),
    Metric.trackDurationWith(Metrics.grepDuration, Metrics.seconds),
    Effect.withSpan("MemoryTools.grep", {
      attributes: { "mnesis.session.id": scope.sessionId },
      captureStackTrace: false
    })
  )

// ---------------------------------------------------------------------------------------------
// describe
// ---------------------------------------------------------------------------------------------

export const DescribeInput = Schema.Struct({
  id: Schema.String.annotations({ description: "a sum_…, msg_…, file_… or run_… id" })
})
export type DescribeInput = typeof DescribeInput.Type

export type Description =
  | { readonly kind: "summary"; readonly node: SummaryNode; readonly inContext: boolean }
  | {
    readonly kind: "message"
    readonly message: Message
    readonly tokens: number
    readonly location: Location
  }
  /** An operator run this session started (see `Operators`). */
  | { readonly kind: "run"; readonly run: RunInfo }
  /** A file a message of this session references: its facts and summary. */
  | MemoryFiles.FileDescription

export interface DescribeResult {
  readonly description: Description
  readonly text: string
}

const unknownId = (id: string) =>
  new InvalidInput({
    field: "id",
    reason: `nothing with id ${id} in this session; ids come from the context, grep or expand`
  })

const partsOverview = (message: Message): string =>
  message.parts.map((part) => {
    switch (part.type) {
      case "text":
      case "reasoning":
        return `${part.type} (${part.tokenCount} tokens)`
      case "tool":
        return `tool ${part.toolName} ${part.status}${
          part.compactedAt === undefined ? "" : ", output pruned"
        } (${part.tokenCount} tokens)`
      case "file_ref":
        return `file ${part.path} ${part.fileId}`
      case "compaction":
        return `compaction marker for ${part.summaryId}`
    }
  }).join("; ")

export const describe = (
  scope: MemoryScope,
  request: DescribeInput
): Effect.Effect<DescribeResult, Failure> =>
  Effect.gen(function*() {
    const input = yield* checkInput(DescribeInput, "describe", request)
    const id = input.id.trim()
    const inContext = new Set<string>((yield* scope.contextItems).map((item) => item.id))
    if (id.startsWith("sum_")) {
      const node = yield* Effect.mapError(findSummary(scope, id), () => unknownId(id))
      const state = inContext.has(node.id)
        ? "in the active context"
        : node.supersededBy === undefined
        ? "not in the context"
        : `condensed into ${node.supersededBy}`
      const text = [
        `${node.id}: ${node.kind} summary, depth ${node.depth}, level ${node.level}, ${node.tokenCount} tokens, ${state}`,
        `covers ${node.messageCount} messages: ${node.spanStart} (#${node.spanStartSeq}) .. ${node.spanEnd} (#${node.spanEndSeq})`,
        node.parents.length === 0
          ? "condenses: nothing (a leaf: expand it for the messages)"
          : `condenses: ${node.parents.join(", ")}`,
        `files: ${node.fileIds.length === 0 ? "none" : node.fileIds.join(", ")}`,
        "text:",
        node.content
      ].join("\n")
      return { description: { kind: "summary" as const, node, inContext: inContext.has(node.id) }, text }
    }
    if (id.startsWith("msg_")) {
      const [message] = yield* scope.store.messages([id as MessageId])
      if (message === undefined || !scope.sessionIds.includes(message.sessionId)) return yield* unknownId(id)
      const covers = yield* scope.store.activeCovers([message.id])
      const location: Location = inContext.has(message.id)
        ? { kind: "in_context" }
        : covers.has(message.id)
        ? { kind: "covered", summaryId: covers.get(message.id)! }
        : { kind: "history" }
      const tokens = message.parts.reduce((sum, part) => sum + part.tokenCount, 0)
      const text = [
        `${message.id}: ${
          message.isSummary ? "summary " : ""
        }${message.role} message #${message.seq}, ${tokens} tokens, ${describeLocation(location)}` +
        (message.finishReason === undefined ? "" : `, finished: ${message.finishReason}`),
        `parts: ${message.parts.length === 0 ? "none" : partsOverview(message)}`
      ].join("\n")
      return { description: { kind: "message" as const, message, tokens, location }, text }
    }
    if (id.startsWith("run_")) {
      const run = yield* RunPages.visibleRun(scope, id)
      if (Option.isNone(run)) return yield* unknownId(id)
      return { description: { kind: "run" as const, run: run.value }, text: RunPages.describeText(run.value) }
    }
    if (id.startsWith("file_")) return yield* MemoryFiles.describe(scope, id)
    return yield* unknownId(id)
  }).pipe(
    Effect.withSpan("MemoryTools.describe", {
      attributes: { "mnesis.session.id": scope.sessionId },
      captureStackTrace: false
    })
  )

// ---------------------------------------------------------------------------------------------
// expand
// ---------------------------------------------------------------------------------------------

export const ExpandInput = Schema.Struct({
  id: Schema.String.annotations({
    description: "a sum_… id (its originals), a msg_… id (that message in full), a file_… id (the " +
      "file's lines) or a run_… id (the results of an operator run)"
  }),
  cursor: Schema.optional(Schema.String),
  maxTokens: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(200, EXPAND_MAX_TOKENS))),
  symbol: Schema.optional(Schema.String.pipe(Schema.maxLength(300))).annotations({
    description: "file_… only: one declaration's lines, e.g. \"Router\" or \"Router.handle\""
  }),
  line: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(1))).annotations({
    description: "file_… only: the line to start at (e.g. from a grep hit)"
  })
})
export type ExpandInput = typeof ExpandInput.Type

export interface ExpandedItem {
  /** `run_item`: one item's result of an operator run; `file`: a page of a file's numbered lines. */
  readonly kind: "message" | "summary" | "run_item" | "file"
  readonly id: MessageId | SummaryId | RunPages.RunItemRef | FileId
  readonly text: string
  /** True when this page holds only a piece of the item (the rest follows with the cursor). */
  readonly partial: boolean
}

export interface ExpandResult {
  readonly items: ReadonlyArray<ExpandedItem>
  readonly total: number
  readonly nextCursor?: string | undefined
  readonly text: string
}

/**
 * The length of the longest prefix of `text` within `tokens` (by bisection on code units), cut
 * on a character boundary; at least one character, so a page always moves forward.
 */
const fitPrefix = (text: string, tokens: number, count: Count): number => {
  let low = 0
  let high = text.length
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (count(text.slice(0, floorBoundary(text, mid))) <= tokens) low = mid
    else high = mid - 1
  }
  return Math.max(firstCharLength(text), floorBoundary(text, low))
}

export const expand = (scope: MemoryScope, request: ExpandInput): Effect.Effect<ExpandResult, Failure> =>
  Effect.gen(function*() {
    const input = yield* checkInput(ExpandInput, "expand", request)
    const id = input.id.trim()
    const maxTokens = input.maxTokens ?? EXPAND_DEFAULT_TOKENS
    if (id.startsWith("file_")) {
      const page = yield* MemoryFiles.expand(scope, { ...input, id, maxTokens })
      return {
        items: page.lines === ""
          ? []
          : [{
            kind: "file" as const,
            id: id as FileId,
            text: page.lines,
            partial: page.nextCursor !== undefined
          }],
        total: page.totalLines,
        nextCursor: page.nextCursor,
        text: page.text
      } satisfies ExpandResult
    }
    const cursor = yield* Cursor.read(input.cursor, "expand", id)

    // What the id stands for, in order, as text: `total` items, read a window at a time.
    let header: string
    let total: number
    let windowOf: (
      start: number,
      count: number
    ) => Effect.Effect<ReadonlyArray<Omit<ExpandedItem, "partial">>, Failure>
    if (id.startsWith("sum_") || id.startsWith("msg_")) {
      let sources: ReadonlyArray<{ readonly kind: "message" | "summary"; readonly id: MessageId | SummaryId }>
      if (id.startsWith("sum_")) {
        const node = yield* Effect.mapError(findSummary(scope, id), () => unknownId(id))
        sources = yield* scope.store.summarySources(node.id)
        header = `expand ${node.id} (${node.kind}, depth ${node.depth}): ${sources.length} ${
          node.kind === "leaf" ? "messages" : "summaries"
        }`
      } else {
        const [message] = yield* scope.store.messages([id as MessageId])
        if (message === undefined || !scope.sessionIds.includes(message.sessionId)) {
          return yield* unknownId(id)
        }
        sources = [{ kind: "message", id: message.id }]
        header = `expand ${id}: the message in full`
      }
      const all = sources
      total = all.length
      windowOf = (start, count) => {
        const window = all.slice(start, start + count)
        return Effect.map(
          textsOf(scope, window),
          (texts) => texts.map((text, k) => ({ kind: window[k]!.kind, id: window[k]!.id, text }))
        )
      }
    } else if (id.startsWith("run_")) {
      const found = yield* RunPages.visibleRun(scope, id)
      if (Option.isNone(found)) return yield* unknownId(id)
      const run = found.value
      header =
        `expand ${run.id} (${run.operator} run, ${run.status}): ${run.total} items, ${run.done} done, ` +
        `${run.failed} failed`
      total = run.total
      windowOf = (start, count) =>
        Effect.map(
          RunPages.window(scope.store, run, start, count),
          (items) => items.map((item) => ({ kind: "run_item" as const, ...item }))
        )
    } else {
      return yield* unknownId(id)
    }
    const start = cursor?.p ?? 0
    // Where the first item resumes (a cursor's offset always falls on a character; kept so).
    let offset = cursor?.c ?? 0

    const items: Array<ExpandedItem> = []
    let used = scope.count(header) + 40
    let next: { p: number; c?: number } | undefined
    // Read a window of sources at a time, not the whole span.
    for (let index = start; index < total && next === undefined; index += 50) {
      const window = yield* windowOf(index, 50)
      for (const [k, source] of window.entries()) {
        const at = index + k
        const text = source.text
        if (at === start) offset = floorBoundary(text, offset)
        const body = at === start ? text.slice(offset) : text
        const cost = scope.count(body) + 1
        if (used + cost <= maxTokens) {
          items.push({ kind: source.kind, id: source.id, text: body, partial: false })
          used += cost
          continue
        }
        if (items.length > 0) {
          next = { p: at }
          break
        }
        // A single item larger than the page: send the part that fits, continue inside it.
        const fits = fitPrefix(body, Math.max(50, maxTokens - used), scope.count)
        items.push({ kind: source.kind, id: source.id, text: body.slice(0, fits), partial: true })
        next = { p: at, c: (at === start ? offset : 0) + fits }
        break
      }
    }
    const render = () => {
      const nextCursor = next === undefined ? undefined : Cursor.encode("expand", id, next)
      const shown = items.length === 0
        ? "nothing left"
        : `items ${start + 1}–${start + items.length} of ${total}`
      const text = [
        `${header}; ${shown}${cursor === undefined ? "" : " (continued)"}`,
        ...items.map((item) => item.partial ? `${item.text}\n[… continues]` : item.text),
        nextCursor === undefined ? "(end)" : `more: expand again with cursor ${JSON.stringify(nextCursor)}`
      ].join("\n\n")
      return { items, total, nextCursor, text } satisfies ExpandResult
    }
    // The framing (header, cursor) was estimated: trim until the whole answer is within the cap.
    let result = render()
    while (scope.count(result.text) > maxTokens && items.length > 0) {
      const last = items.pop()!
      const at = start + items.length
      if (items.length === 0) {
        // Only a piece of one item fits: keep a smaller piece of it (at least one character).
        const cut = Math.max(
          firstCharLength(last.text),
          floorBoundary(last.text, Math.floor(last.text.length * 0.8))
        )
        items.push({ ...last, text: last.text.slice(0, cut), partial: true })
        next = { p: at, c: (at === start ? offset : 0) + cut }
        result = render()
        // (one character is the least a page carries; the cap leaves room for far more)
        if (cut >= last.text.length) break
        continue
      }
      next = { p: at }
      result = render()
    }
    return result
  }).pipe(
    Effect.withSpan("MemoryTools.expand", {
      attributes: { "mnesis.session.id": scope.sessionId },
      captureStackTrace: false
    })
  )

/** The full text of each source: messages as transcripts (pruned outputs included), summaries rendered. */
const textsOf = (
  scope: MemoryScope,
  sources: ReadonlyArray<{ readonly kind: "message" | "summary"; readonly id: MessageId | SummaryId }>
) =>
  Effect.gen(function*() {
    const messageIds = sources.filter((s) => s.kind === "message").map((s) => s.id as MessageId)
    const summaryIds = sources.filter((s) => s.kind === "summary").map((s) => s.id as SummaryId)
    const messages = new Map<string, Message>((yield* scope.store.messages(messageIds)).map((m) => [m.id, m]))
    const nodes = new Map<string, SummaryNode>(
      (yield* scope.store.summaries(summaryIds)).map((n) => [n.id, n])
    )
    return sources.map((source) => {
      if (source.kind === "message") {
        const message = messages.get(source.id)
        if (
          message === undefined || !scope.sessionIds.includes(message.sessionId)
        ) return `[${source.id}: not found]`
        return messageTranscript(message, { clip: false })
      }
      const node = nodes.get(source.id)
      return node === undefined ? `[${source.id}: not found]` : renderSummary(node)
    })
  })

// ---------------------------------------------------------------------------------------------
// As tools for the model
// ---------------------------------------------------------------------------------------------

/** The names the memory tools take in a session's tool list. */
export const names: ReadonlyArray<string> = ["grep", "describe", "expand"]

/** What each memory tool tells the model it does (also used by `mnesis/effect-ai`'s toolkit). */
export const descriptions = {
  grep: "Search this conversation's whole history, including everything summarised away, and the " +
    "contents of the files it references: words by default, or mode regex with a regular expression in " +
    "RE2 syntax (case-insensitive; no backreferences or lookaround). Returns matching messages with ids, " +
    "a snippet, and where each lives now (in context, or which summary covers it), then matching file " +
    "lines (file id, path:line) to read on with expand.",
  describe: "Tell what an id is: a summary (sum_…: span, depth, what it condenses, files), " +
    "a message (msg_…: role, parts, what covers it), a file (file_…: path, type, size, its structural " +
    "summary) or an operator run (run_…: what ran, the counts).",
  expand: "Show the original messages a summary (sum_…) stands for, one message (msg_…) in full " +
    "with pruned tool outputs restored, a file's content (file_…) as numbered lines — from a line, or " +
    "only one declaration with symbol (\"Class.method\") — or the results of an operator run (run_…), " +
    "a page at a time (pass the cursor to continue)."
} as const

/** The three memory tools, bound to a scope, for `send`'s tool loop or a host's own loop. */
export const tools = (scope: MemoryScope): ReadonlyArray<Tool.Tool> => [
  Tool.make({
    name: "grep",
    description: descriptions.grep,
    readOnly: true,
    input: GrepInput,
    handler: (input) => Effect.map(grep(scope, input), (result) => result.text)
  }),
  Tool.make({
    name: "describe",
    description: descriptions.describe,
    readOnly: true,
    input: DescribeInput,
    handler: (input) => Effect.map(describe(scope, input), (result) => result.text)
  }),
  Tool.make({
    name: "expand",
    description: descriptions.expand,
    readOnly: true,
    input: ExpandInput,
    handler: (input) => Effect.map(expand(scope, input), (result) => result.text)
  })
]
