/**
 * A fake OpenAI-compatible `/v1/chat/completions` server on 127.0.0.1 for tests: it speaks the SSE
 * wire format (`data: {json}\n\n`, then `data: [DONE]\n\n`), answers each request with the next
 * scripted {@link Reply} and records every request it receives. {@link makeWith} changes where it
 * listens (Gemini's `/v1beta/openai`, Azure's deployment routes) and lets a host refuse what the
 * real one refuses.
 */
import type { Scope } from "effect"
import { Deferred, Effect } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

/** One action of a streamed reply. */
export type Step =
  | { readonly _tag: "Data"; readonly payload: unknown }
  | { readonly _tag: "Raw"; readonly text: string }
  | { readonly _tag: "Pause"; readonly millis: number }
  /** Waits until the test opens the gate: proves the client sees what was sent before it. */
  | { readonly _tag: "Gate"; readonly gate: Deferred.Deferred<void> }
  /** Destroys the socket in the middle of the body. */
  | { readonly _tag: "Cut" }

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  /** The parsed JSON body (the raw text when it is not JSON). */
  readonly body: unknown
}

export type Reply =
  | {
    readonly _tag: "Stream"
    readonly steps: ReadonlyArray<Step>
    /** Waited before the status line: a slow first byte. */
    readonly firstByteDelayMs?: number
    /** Waited before every step. */
    readonly chunkDelayMs?: number
  }
  | {
    readonly _tag: "Error"
    readonly status: number
    /** JSON-encoded unless it is a string. */
    readonly body: unknown
    /** Replaces `body` when set: builds it from the request (to echo headers back). */
    readonly bodyOf?: (request: RecordedRequest) => unknown
    readonly headers?: Readonly<Record<string, string>>
  }

const choice = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
  id: "chatcmpl-test",
  object: "chat.completion.chunk",
  created: 1,
  model: "test-model",
  choices: [{ index: 0, delta, finish_reason: finishReason }]
})

/** Builders for the steps of a streamed reply. */
export const sse = {
  data: (payload: unknown): Step => ({ _tag: "Data", payload }),
  raw: (text: string): Step => ({ _tag: "Raw", text }),
  done: { _tag: "Raw", text: "data: [DONE]\n\n" } as Step,
  pause: (millis: number): Step => ({ _tag: "Pause", millis }),
  gate: (gate: Deferred.Deferred<void>): Step => ({ _tag: "Gate", gate }),
  cut: { _tag: "Cut" } as Step,
  role: (): Step => sse.data(choice({ role: "assistant", content: "" })),
  text: (content: string): Step => sse.data(choice({ content })),
  reasoning: (text: string, field: "reasoning_content" | "reasoning" = "reasoning_content"): Step =>
    sse.data(choice({ [field]: text })),
  /** The first fragment of a call: index, id and name, maybe the start of the arguments. */
  toolCallStart: (index: number, id: string, name: string, args = ""): Step =>
    sse.data(choice({ tool_calls: [{ index, id, type: "function", function: { name, arguments: args } }] })),
  toolCallArgs: (index: number, args: string): Step =>
    sse.data(choice({ tool_calls: [{ index, function: { arguments: args } }] })),
  finish: (reason: string): Step => sse.data(choice({}, reason)),
  usage: (usage: { readonly prompt: number; readonly completion: number; readonly cached?: number }): Step =>
    sse.data({
      id: "chatcmpl-test",
      object: "chat.completion.chunk",
      choices: [],
      usage: {
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        total_tokens: usage.prompt + usage.completion,
        ...(usage.cached !== undefined ? { prompt_tokens_details: { cached_tokens: usage.cached } } : {})
      }
    })
}

/** Builders for whole replies. */
export const reply = {
  stream: (
    steps: ReadonlyArray<Step>,
    options: { firstByteDelayMs?: number; chunkDelayMs?: number } = {}
  ): Reply => ({
    _tag: "Stream",
    steps,
    ...options
  }),
  /** A complete answer: role chunk, the text in pieces, stop, usage, [DONE]. */
  text: (
    pieces: ReadonlyArray<string>,
    usage: { readonly prompt: number; readonly completion: number; readonly cached?: number } = {
      prompt: 10,
      completion: 5
    }
  ): Reply =>
    reply.stream([sse.role(), ...pieces.map(sse.text), sse.finish("stop"), sse.usage(usage), sse.done]),
  error: (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Reply => ({
    _tag: "Error",
    status,
    body,
    headers
  }),
  /** OpenAI's error body. */
  openAiError: (
    status: number,
    message: string,
    options: { type?: string; code?: string | null; headers?: Readonly<Record<string, string>> } = {}
  ): Reply =>
    reply.error(status, {
      error: {
        message,
        type: options.type ?? "invalid_request_error",
        param: null,
        code: options.code ?? null
      }
    }, options.headers)
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

/** A reply, or one built from the request it answers (to check what the client sent). */
export type Scripted = Reply | ((request: RecordedRequest) => Reply)

export interface FakeOpenAi {
  /** `http://127.0.0.1:<port>` followed by the base path (`/v1` by default). */
  readonly baseURL: string
  readonly port: number
  /** Scripts the next replies, answered in order; unscripted requests get a 500. */
  readonly enqueue: (...replies: ReadonlyArray<Scripted>) => Effect.Effect<void>
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Streamed replies whose client went away before the server finished them. */
  readonly aborted: Effect.Effect<number>
}

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

export interface ServerOptions {
  /** The path `baseURL` ends with; default `/v1`. */
  readonly basePath?: string
  /** Which requests reach the script; default `POST {basePath}/chat/completions`. Others get a 404. */
  readonly route?: (method: string, url: URL) => boolean
  /** What the real host refuses: a reply here answers the request instead of the script. */
  readonly refuse?: (request: RecordedRequest) => Reply | undefined
}

/** Starts the server; closing the scope destroys open sockets and stops it. */
export const makeWith = (options: ServerOptions = {}): Effect.Effect<FakeOpenAi, never, Scope.Scope> =>
  Effect.gen(function*() {
    const basePath = options.basePath ?? "/v1"
    const route = options.route ??
      ((method: string, url: URL) =>
        method === "POST" && url.pathname === `${basePath}/chat/completions` && url.search === "")
    const queue: Array<Scripted> = []
    const recorded: Array<RecordedRequest> = []
    const timers = new Set<NodeJS.Timeout>()
    let closed = false
    let aborted = 0

    const sleep = (millis: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer)
          resolve()
        }, millis)
        timers.add(timer)
      })

    const writeError = (
      res: Http.ServerResponse,
      status: number,
      body: unknown,
      headers: Record<string, string>
    ) => {
      const text = typeof body === "string" ? body : JSON.stringify(body)
      res.writeHead(status, {
        "content-type": typeof body === "string" ? "text/plain" : "application/json",
        ...headers
      })
      res.end(text)
    }

    const stream = async (res: Http.ServerResponse, script: Extract<Reply, { _tag: "Stream" }>) => {
      const gone = () => closed || res.destroyed
      if (script.firstByteDelayMs !== undefined) await sleep(script.firstByteDelayMs)
      if (gone()) return
      res.socket?.setNoDelay(true)
      let cut = false
      res.on("close", () => {
        if (!res.writableFinished && !closed && !cut) aborted++
      })
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      res.flushHeaders()
      for (const step of script.steps) {
        if (script.chunkDelayMs !== undefined) await sleep(script.chunkDelayMs)
        if (gone()) return
        switch (step._tag) {
          case "Data":
            res.write(`data: ${JSON.stringify(step.payload)}\n\n`)
            break
          case "Raw":
            res.write(step.text)
            break
          case "Pause":
            await sleep(step.millis)
            break
          case "Gate":
            await Effect.runPromise(Deferred.await(step.gate))
            break
          case "Cut":
            cut = true
            res.socket?.destroy()
            return
        }
      }
      if (!gone()) res.end()
    }

    const handle = async (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      const text = await readBody(req)
      const request: RecordedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: parseJson(text)
      }
      recorded.push(request)
      if (!route(request.method, new URL(request.path, "http://127.0.0.1"))) {
        return writeError(
          res,
          404,
          { error: { message: `no route ${req.method} ${req.url}`, code: null } },
          {}
        )
      }
      const refused = options.refuse?.(request)
      if (refused !== undefined && refused._tag === "Error") {
        return writeError(res, refused.status, refused.body, { ...refused.headers })
      }
      const scripted = queue.shift()
      if (scripted === undefined) {
        return writeError(res, 500, { error: { message: "the fake server has no scripted reply left" } }, {})
      }
      const next = typeof scripted === "function" ? scripted(request) : scripted
      if (next._tag === "Error") {
        const body = next.bodyOf === undefined ? next.body : next.bodyOf(request)
        return writeError(res, next.status, body, { ...next.headers })
      }
      return stream(res, next)
    }

    const server = Http.createServer((req, res) => {
      handle(req, res).catch(() => res.destroy())
    })

    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          closed = true
          for (const timer of timers) clearTimeout(timer)
          timers.clear()
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )

    return {
      baseURL: `http://127.0.0.1:${port}${basePath}`,
      port,
      enqueue: (...replies) => Effect.sync(() => void queue.push(...replies)),
      requests: Effect.sync(() => [...recorded]),
      aborted: Effect.sync(() => aborted)
    }
  })

/** The plain OpenAI server at `/v1`. */
export const make: Effect.Effect<FakeOpenAi, never, Scope.Scope> = makeWith()

/** A port nothing listens on: bound once, then released. */
export const unusedPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const probe = Net.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(Effect.succeed(port)))
  })
})
