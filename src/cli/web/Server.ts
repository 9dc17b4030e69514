/**
 * The explorer's HTTP app: GET routes only (the page, its two assets and the JSON API), every
 * other method refused; requests that do not name this machine in their Host header refused
 * while the server is local (a web page elsewhere cannot read it through a rebound DNS name);
 * a strict content security policy (scripts and styles from this server only).
 *
 * @internal
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import type { MnesisConfig } from "../../Config.js"
import type * as Storage from "../../Storage.js"
import * as Api from "./api.js"
import { clientScript } from "./client.js"
import { page } from "./page.js"
import { readOnly } from "./readOnly.js"
import { styleSheet } from "./style.js"

/** Whether a host name or address stays on this machine. */
export const isLoopback = (host: string): boolean => {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1")
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(h)
}

/** The host name of a Host header (`127.0.0.1:4280`, `[::1]:4280`, `localhost`). */
const hostOf = (header: string): string => {
  const bracketed = /^\[([^\]]+)\]/.exec(header)
  if (bracketed !== null) return bracketed[1]!
  return header.replace(/:\d+$/, "")
}

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

const STATUS: Record<string, number> = {
  SessionNotFound: 404,
  IdNotFound: 404,
  TurnNotFound: 404,
  InvalidInput: 400,
  BadOption: 400
}

const json = (status: number, body: unknown) => HttpServerResponse.unsafeJson(body, { status })

/** The API's answer, or its failure as `{ error }` with a status saying whose fault it was. */
const answer = <A, E extends { readonly _tag: string; readonly message: string }, R>(
  effect: Effect.Effect<A, E, R>
) =>
  effect.pipe(
    Effect.map((body) => json(200, body)),
    Effect.catchAll((error) => {
      const status = STATUS[error._tag] ?? 500
      return Effect.as(
        status === 500 ? Effect.logError("explorer request failed", error) : Effect.void,
        json(status, { error: error.message, tag: error._tag })
      )
    })
  )

const param = (name: string) => Effect.map(HttpRouter.params, (params) => params[name] ?? "")

const query = Effect.map(
  HttpServerRequest.HttpServerRequest,
  (request) => new URL(request.url, "http://explorer.invalid").searchParams
)

export interface Options {
  readonly store: Storage.Service
  readonly config: MnesisConfig
  /** How the database is named on the page. */
  readonly database: string
  /** Accept requests whatever host they name (the server listens beyond this machine). */
  readonly allowRemote: boolean
}

export const make = (options: Options) => {
  const api = Api.make(readOnly(options.store), options.config)
  const html = HttpServerResponse.html(page(options.database))
  const router = HttpRouter.empty.pipe(
    HttpRouter.get("/", Effect.succeed(html)),
    // (browsers ask for one; the page has none)
    HttpRouter.get("/favicon.ico", Effect.succeed(HttpServerResponse.empty({ status: 204 }))),
    HttpRouter.get("/session/:id", Effect.succeed(html)),
    HttpRouter.get(
      "/assets/explorer.js",
      Effect.succeed(HttpServerResponse.text(clientScript, { contentType: "text/javascript; charset=utf-8" }))
    ),
    HttpRouter.get(
      "/assets/explorer.css",
      Effect.succeed(HttpServerResponse.text(styleSheet, { contentType: "text/css; charset=utf-8" }))
    ),
    HttpRouter.get("/api/sessions", answer(api.sessions)),
    HttpRouter.get("/api/sessions/:id", Effect.flatMap(param("id"), (id) => answer(api.overview(id)))),
    HttpRouter.get("/api/sessions/:id/dag", Effect.flatMap(param("id"), (id) => answer(api.dag(id)))),
    HttpRouter.get(
      "/api/sessions/:id/context",
      Effect.gen(function*() {
        const id = yield* param("id")
        const turn = (yield* query).get("turn")
        return yield* answer(api.context(id, turn === null || turn === "" ? undefined : Number(turn)))
      })
    ),
    HttpRouter.get(
      "/api/sessions/:id/grep",
      Effect.gen(function*() {
        const id = yield* param("id")
        const q = yield* query
        return yield* answer(
          api.grep(
            id,
            q.get("q") ?? "",
            q.get("mode") === "regex" ? "regex" : "fulltext",
            q.get("cursor") ?? undefined
          )
        )
      })
    ),
    HttpRouter.get("/api/summaries/:id", Effect.flatMap(param("id"), (id) => answer(api.summary(id)))),
    HttpRouter.get(
      "/api/expand/:id",
      Effect.gen(function*() {
        const id = yield* param("id")
        return yield* answer(api.expand(id, (yield* query).get("cursor") ?? undefined))
      })
    )
  )

  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.method !== "GET") {
      return HttpServerResponse.unsafeJson(
        { error: "the explorer is read-only: only GET requests are served" },
        { status: 405, headers: { allow: "GET" } }
      )
    }
    if (!options.allowRemote && !isLoopback(hostOf(request.headers.host ?? ""))) {
      return json(403, { error: "this explorer serves only requests addressed to localhost" })
    }
    return yield* router.pipe(
      Effect.catchTag("RouteNotFound", () => Effect.succeed(json(404, { error: "no such page" })))
    )
  }).pipe(Effect.map(HttpServerResponse.setHeaders(SECURITY_HEADERS)))
}
