/**
 * Where a session comes from, and the one path every session takes: created (a new row), loaded
 * (the stored row) or spawned under an open parent (a new row in the parent's store, with the
 * parent's configuration). Each merges its configuration, checks its tools, finds its store and
 * model, gets its row, then is assembled by make.ts.
 *
 * @internal
 */
import { Clock, Context, Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import { makeBudget, mergeConfig, Settings } from "../Config.js"
import type { MnesisConfig, MnesisConfigOverrides } from "../Config.js"
import { SessionId as SessionIdSchema } from "../Domain.js"
import type { SessionId, SessionInfo } from "../Domain.js"
import { SessionNotFound } from "../Errors.js"
import * as Ids from "../internal/ids.js"
import * as ModelRegistry from "../ModelRegistry.js"
import type { LoadOptions, OpenOptions, Session } from "../Session.js"
import * as Storage from "../Storage.js"
import { internalsOf } from "./internals.js"
import { assemble } from "./make.js"
import { decodeInput, LoadOptions as LoadOptionsInput, OpenOptions as OpenOptionsInput } from "./options.js"
import { validateTools } from "./tools.js"

/** Where the session's store and base configuration come from. */
type Origin =
  /** The layer's (`Storage` and `Settings`), or its own store when `storage` is given. */
  | { readonly _tag: "Layer"; readonly storage: LoadOptions["storage"] }
  /** Its parent's: the same store, the parent's configuration as the base. */
  | { readonly _tag: "Parent"; readonly store: Storage.Service; readonly config: MnesisConfig }

/** Runs `effect` with a fresh session scope that is closed if `effect` fails. */
const withSessionScope = <A, E, R>(effect: (scope: Scope.CloseableScope) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    Scope.make(),
    (scope) => Effect.onError(effect(scope), (cause) => Scope.close(scope, Exit.failCause(cause)))
  )

/** The session's store: its parent's, the layer's, or its own (built in `scope`, closed with it). */
const storeFor = (origin: Origin, scope: Scope.Scope) => {
  if (origin._tag === "Parent") return Effect.succeed(origin.store)
  return origin.storage === undefined
    ? Storage.Storage
    : Effect.map(
      Layer.buildWithScope(origin.storage, scope),
      (context) => Context.get(context, Storage.Storage)
    )
}

/** The model's limits and the budget they leave under `config` (a `ConfigError` if none). */
const resolveModel = (model: string, config: MnesisConfig) =>
  Effect.gen(function*() {
    const info = yield* ModelRegistry.lookup(model, config.modelOverrides)
    return { info, budget: yield* makeBudget(info, config) }
  })

interface StartOptions extends Pick<LoadOptions, "tools" | "memoryTools"> {
  readonly config?: MnesisConfigOverrides | undefined
}

/**
 * The one path: merge the configuration, check the tools, find the store, then get the session's
 * row (a new one, or the stored one) and assemble the session around it. A new session's model is
 * resolved before its row is written, so a create that fails stores nothing.
 */
const start = <E>(
  origin: Origin,
  options: StartOptions,
  newModel: string | undefined,
  sessionRow: (store: Storage.Service) => Effect.Effect<SessionInfo, E>
) =>
  withSessionScope((scope) =>
    Effect.gen(function*() {
      const base = origin._tag === "Parent" ? origin.config : yield* Settings
      const config = yield* mergeConfig(base, options.config ?? {})
      const tools = options.tools ?? []
      yield* validateTools(tools, options.memoryTools)
      const resolved = newModel === undefined ? undefined : yield* resolveModel(newModel, config)
      const store = yield* storeFor(origin, scope)
      const row = yield* sessionRow(store)
      const { budget, info } = resolved ?? (yield* resolveModel(row.model, config))
      return yield* assemble({
        row,
        config,
        info,
        budget,
        store,
        scope,
        tools,
        memoryTools: options.memoryTools,
        created: newModel !== undefined
      })
    })
  )

/** A new row for `options`, under `parentId`. */
const newRow = (options: OpenOptions, parentId: SessionId | undefined) => (store: Storage.Service) =>
  Effect.gen(function*() {
    return yield* store.createSession({
      id: yield* Ids.sessionId,
      parentId,
      model: options.model,
      agent: options.agent ?? "default",
      systemPrompt: options.systemPrompt ?? "You are a helpful assistant.",
      metadata: options.metadata,
      createdAt: yield* Clock.currentTimeMillis
    })
  })

export const create = (options: OpenOptions) =>
  Effect.flatMap(
    decodeInput(OpenOptionsInput, "options")(options),
    () =>
      start(
        { _tag: "Layer", storage: options.storage },
        options,
        options.model,
        newRow(options, options.parentId)
      )
  )

export const open = (options: OpenOptions) =>
  Effect.gen(function*() {
    const session = yield* create(options)
    yield* Effect.addFinalizer(() => session.close)
    return session
  })

export const load = (id: SessionId | string, options: LoadOptions) =>
  Effect.flatMap(
    Effect.all([decodeInput(Schema.String, "id")(id), decodeInput(LoadOptionsInput, "options")(options)]),
    () =>
      start({ _tag: "Layer", storage: options.storage }, options, undefined, (store) =>
        // An id that is not a session id's shape names no session: the same answer as an unknown one.
        Option.match(Schema.decodeUnknownOption(SessionIdSchema)(id), {
          onNone: () => Effect.fail(new SessionNotFound({ sessionId: id })),
          onSome: store.getSession
        }))
  )

export const loadScoped = (id: SessionId | string, options: LoadOptions) =>
  Effect.gen(function*() {
    const session = yield* load(id, options)
    yield* Effect.addFinalizer(() => session.close)
    return session
  })

/** What a sub-session takes from its caller; the rest (store, base configuration) is its parent's. */
export type SpawnOptions = Omit<OpenOptions, "storage" | "parentId"> & { readonly model?: string | undefined }

/**
 * A sub-session of an open `parent`: its row names the parent, it lives in the parent's store and
 * starts from the parent's configuration (`config` merges over it). The caller closes it, before
 * the parent.
 */
export const spawn = (parent: Session, options: SpawnOptions) =>
  Effect.gen(function*() {
    const { core, whileOpen } = yield* internalsOf(parent, "parent")
    const full: OpenOptions = { ...options, model: options.model ?? core.row.model }
    yield* decodeInput(OpenOptionsInput, "options")(full)
    return yield* whileOpen(
      start(
        { _tag: "Parent", store: core.store, config: core.config },
        full,
        full.model,
        newRow(full, core.sessionId)
      )
    )
  })
