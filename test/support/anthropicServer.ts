/**
 * A fake Anthropic Messages API on 127.0.0.1 for end-to-end tests through the real SDK. It
 * speaks the wire format of `POST /v1/messages` with `stream: true` (server-sent events with
 * `event:` / `data:` lines, `ping`s interleaved), answers each request with the next scripted
 * response, and records every request so tests can assert what the SDK sent.
 *
 * Scripts can delay events, hold them behind a gate the test opens, cut the connection
 * mid-message, end the stream early, answer with an API error, or stall before the headers.
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

/** A promise the test resolves to let a held response go on. */
export interface Gate {
  readonly open: () => void
  readonly opened: Promise<void>
}

export const makeGate = (): Gate => {
  let open: () => void = () => undefined
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

/** One step of a streamed response. */
export type Step =
  | { readonly kind: "event"; readonly event: string; readonly data: unknown }
  /** Writes raw bytes (e.g. a malformed event). */
  | { readonly kind: "raw"; readonly text: string }
  | { readonly kind: "delay"; readonly ms: number }
  /** Holds the rest of the response until the gate opens. */
  | { readonly kind: "gate"; readonly gate: Gate }
  /** Destroys the socket: the client sees the connection drop mid-message. */
  | { readonly kind: "cut" }
  /** Ends the response cleanly, whatever the script had left. */
  | { readonly kind: "end" }

export type ScriptedResponse =
  | {
    readonly type: "stream"
    readonly steps: ReadonlyArray<Step>
    /** Delay before every event. */
    readonly eventDelayMs?: number | undefined
    /** Delay before the status line and headers (a slow server). */
    readonly headersDelayMs?: number | undefined
  }
  | {
    readonly type: "error"
    readonly status: number
    readonly body: unknown
    readonly headers?: Readonly<Record<string, string>> | undefined
  }

export type BlockScript =
  | { readonly type: "text"; readonly chunks: ReadonlyArray<string> }
  | {
    readonly type: "tool_use"
    readonly id: string
    readonly name: string
    readonly fragments: ReadonlyArray<string>
  }
  | { readonly type: "thinking"; readonly chunks: ReadonlyArray<string>; readonly signature: string }

export interface MessageScript {
  readonly blocks: ReadonlyArray<BlockScript>
  readonly stopReason?: string | undefined
  readonly usage?: {
    readonly input_tokens?: number
    readonly output_tokens?: number
    readonly cache_creation_input_tokens?: number
    readonly cache_read_input_tokens?: number
  }
  readonly model?: string | undefined
}

export const Block = {
  text: (...chunks: ReadonlyArray<string>): BlockScript => ({ type: "text", chunks }),
  toolUse: (id: string, name: string, ...fragments: ReadonlyArray<string>): BlockScript => ({
    type: "tool_use",
    id,
    name,
    fragments
  }),
  thinking: (signature: string, ...chunks: ReadonlyArray<string>): BlockScript => ({
    type: "thinking",
    chunks,
    signature
  })
} as const

const event = (name: string, data: unknown): Step => ({ kind: "event", event: name, data })
const ping: Step = event("ping", { type: "ping" })

const blockStart = (block: BlockScript) => {
  switch (block.type) {
    case "text":
      return { type: "text", text: "" }
    case "tool_use":
      return { type: "tool_use", id: block.id, name: block.name, input: {} }
    case "thinking":
      return { type: "thinking", thinking: "", signature: "" }
  }
}

const blockDeltas = (block: BlockScript): ReadonlyArray<unknown> => {
  switch (block.type) {
    case "text":
      return block.chunks.map((text) => ({ type: "text_delta", text }))
    case "tool_use":
      return block.fragments.map((partial_json) => ({ type: "input_json_delta", partial_json }))
    case "thinking":
      return [
        ...block.chunks.map((thinking) => ({ type: "thinking_delta", thinking })),
        { type: "signature_delta", signature: block.signature }
      ]
  }
}

/** The events of one whole message, exactly as the API streams them (with pings). */
export const messageSteps = (script: MessageScript): Array<Step> => {
  const usage = script.usage ?? {}
  const steps: Array<Step> = [
    event("message_start", {
      type: "message_start",
      message: {
        id: "msg_fake",
        type: "message",
        role: "assistant",
        model: script.model ?? "claude-fake",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.input_tokens ?? 10,
          output_tokens: 1,
          cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
          cache_read_input_tokens: usage.cache_read_input_tokens ?? 0
        }
      }
    }),
    ping
  ]
  script.blocks.forEach((block, index) => {
    steps.push(
      event("content_block_start", { type: "content_block_start", index, content_block: blockStart(block) })
    )
    blockDeltas(block).forEach((delta, n) => {
      steps.push(event("content_block_delta", { type: "content_block_delta", index, delta }))
      if (n === 0) steps.push(ping)
    })
    steps.push(event("content_block_stop", { type: "content_block_stop", index }))
  })
  steps.push(
    event("message_delta", {
      type: "message_delta",
      delta: { stop_reason: script.stopReason ?? "end_turn", stop_sequence: null },
      usage: { output_tokens: usage.output_tokens ?? 5 }
    }),
    event("message_stop", { type: "message_stop" })
  )
  return steps
}

/** The in-stream error event the API sends when a started stream fails (e.g. overloaded). */
export const errorEvent = (type: string, message: string): Step =>
  event("error", { type: "error", error: { type, message } })

export const Reply = {
  /** A streamed response made of the given steps. */
  stream: (
    steps: ReadonlyArray<Step>,
    options: { readonly eventDelayMs?: number; readonly headersDelayMs?: number } = {}
  ): ScriptedResponse => ({ type: "stream", steps, ...options }),
  /** A complete streamed message. */
  message: (
    script: MessageScript,
    options: { readonly eventDelayMs?: number; readonly headersDelayMs?: number } = {}
  ): ScriptedResponse => ({ type: "stream", steps: messageSteps(script), ...options }),
  /** The first `count` steps of a message, then the connection drops. */
  cutAfter: (script: MessageScript, count: number): ScriptedResponse => ({
    type: "stream",
    steps: [...messageSteps(script).slice(0, count), { kind: "cut" }]
  }),
  /** An API error with the real body shape `{type: "error", error: {type, message}}`. */
  error: (
    status: number,
    type: string,
    message: string,
    headers?: Readonly<Record<string, string>>
  ): ScriptedResponse => ({
    type: "error",
    status,
    body: { type: "error", error: { type, message }, request_id: "req_fake" },
    headers
  })
} as const

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  /** The parsed JSON body (the raw text when it was not JSON). */
  readonly body: unknown
}

/** How a response's connection ended. */
export interface Closed {
  /** True when the server finished the response; false when the connection dropped first. */
  readonly endedByServer: boolean
}

export interface FakeAnthropic {
  /** The base URL to give the SDK (`http://127.0.0.1:<port>`). */
  readonly url: string
  /** Queues responses; each request takes the next one (an empty queue answers 500). */
  readonly enqueue: (...responses: ReadonlyArray<ScriptedResponse>) => void
  /** Every request received so far, in order. */
  readonly requests: () => ReadonlyArray<RecordedRequest>
  /** Waits until the response to request number `index` (0-based) is closed. */
  readonly closed: (index: number) => Effect.Effect<Closed>
}

interface Exchange {
  readonly request: RecordedRequest
  readonly closed: Promise<Closed>
}

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const parseBody = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** Starts the fake API; it stops, closing every open socket, when the scope closes. */
export const start: Effect.Effect<FakeAnthropic, never, Scope.Scope> = Effect.gen(function*() {
  const queue: Array<ScriptedResponse> = []
  const exchanges: Array<Exchange> = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()

  // Timers are tracked so closing the server cancels pending delays (the script then stays
  // suspended forever, holding nothing).
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })

  const write = (res: Http.ServerResponse, text: string) =>
    new Promise<void>((resolve) => {
      res.write(text, () => resolve())
    })

  const play = async (res: Http.ServerResponse, response: ScriptedResponse): Promise<void> => {
    if (response.type === "error") {
      res.writeHead(response.status, { "content-type": "application/json", ...response.headers })
      res.end(JSON.stringify(response.body))
      return
    }
    if (response.headersDelayMs !== undefined) await sleep(response.headersDelayMs)
    if (res.destroyed) return
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "request-id": "req_fake"
    })
    res.flushHeaders()
    for (const step of response.steps) {
      if (res.destroyed) return
      switch (step.kind) {
        case "event":
          if (response.eventDelayMs !== undefined) await sleep(response.eventDelayMs)
          if (res.destroyed) return
          await write(res, `event: ${step.event}\ndata: ${JSON.stringify(step.data)}\n\n`)
          break
        case "raw":
          await write(res, step.text)
          break
        case "delay":
          await sleep(step.ms)
          break
        case "gate":
          await step.gate.opened
          break
        case "cut":
          // Let the bytes already written reach the client before the connection drops.
          await sleep(20)
          res.socket?.destroy()
          return
        case "end":
          res.end()
          return
      }
    }
    if (!res.destroyed) res.end()
  }

  const handle = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    let settle: (closed: Closed) => void = () => undefined
    const closed = new Promise<Closed>((resolve) => {
      settle = resolve
    })
    res.on("close", () => settle({ endedByServer: res.writableEnded }))
    void readBody(req).then((text) => {
      exchanges.push({
        request: {
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: parseBody(text)
        },
        closed
      })
      const response = queue.shift() ??
        Reply.error(500, "api_error", "fake server: no scripted response left for this request")
      return play(res, response)
    }).catch(() => res.destroy())
  }

  const server = yield* Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer(handle)
      server.on("connection", (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.once("error", (error) => resume(Effect.die(error)))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )

  const { port } = server.address() as AddressInfo // listening on TCP, so the address is an AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    enqueue: (...responses) => {
      queue.push(...responses)
    },
    requests: () => exchanges.map((exchange) => exchange.request),
    closed: (index) =>
      Effect.suspend(() => {
        const exchange = exchanges[index]
        return exchange === undefined
          ? Effect.dieMessage(`fake server: request ${index} never arrived`)
          : Effect.promise(() => exchange.closed)
      })
  }
})
