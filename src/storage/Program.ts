/**
 * Write transactions as programs: a generator that yields statements and is resumed with their
 * rows. The store's hot writes (appends, tool results, tombstones, snapshots) are written this way
 * once; a runner executes them on one connection inside one transaction.
 *
 * Why not one Effect per statement: an append is four statements, and `@effect/sql`'s statement
 * pipeline costs several times what SQLite spends on each of them (bench/README.md). A program
 * runs statement by statement through Effects on any connection, or — when the connection can
 * run a statement synchronously, as node:sqlite's can — all at once, between an asynchronous
 * BEGIN (which may wait for another writer's lock) and its COMMIT.
 *
 * Statement texts are compiled once per call site by the client's own compiler (so in the
 * dialect's placeholder syntax) and reused with each call's parameters.
 *
 * @internal
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import * as Client from "@effect/sql/SqlClient"
import type { Connection, Row } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Effect, Either, Option } from "effect"

/** One statement of a program: its text and its parameters. */
export interface Step {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
}

/**
 * A write: yields steps, gets their rows back, and returns its result — or, to fail, a `Left`
 * (the runner then rolls the transaction back).
 */
export type Program<A, E> = Generator<Step, Either.Either<A, E>, ReadonlyArray<Row>>

/** A connection that can also run a statement synchronously, outside of any Effect. */
export interface SyncConnection extends Connection {
  readonly executeSync: (sql: string, params: ReadonlyArray<unknown>) => ReadonlyArray<Row>
  /** The same, each row as its column values in the statement's order (no object per row). */
  readonly executeValuesSync?:
    | ((sql: string, params: ReadonlyArray<unknown>) => ReadonlyArray<ReadonlyArray<unknown>>)
    | undefined
  /** Whether a transaction is open on the connection (another fiber's, when not ours). */
  readonly inTransaction: () => boolean
}

export const isSync = (connection: Connection): connection is SyncConnection =>
  "executeSync" in connection && typeof connection.executeSync === "function"

/** The values a step may bind. */
export type Param = string | number | boolean | bigint | null

/** SQL text spliced into a statement, the same at every use of its call site. */
export class Raw {
  constructor(readonly text: string) {}
}

/**
 * A template tag giving steps: `stmt\`SELECT … WHERE id = ${id}\``. The first use of a call site
 * compiles its text with the client's compiler; later uses only collect the parameters. `Raw`
 * values are spliced into the text (they must not vary between uses of one call site).
 */
export const makeTag = (sql: SqlClient) => {
  const texts = new WeakMap<TemplateStringsArray, string>()
  return (strings: TemplateStringsArray, ...values: ReadonlyArray<Param | Raw>): Step => {
    let text = texts.get(strings)
    if (text === undefined) {
      text = sql(
        strings,
        ...values.map((value) => value instanceof Raw ? sql.literal(value.text) : value)
      ).compile()[0]
      texts.set(strings, text)
    }
    const params = values.some((value) => value instanceof Raw)
      ? values.filter((value) => !(value instanceof Raw))
      : values
    return { sql: text, params }
  }
}

/** Drives a program synchronously; a driver error thrown by `execute` propagates. */
const driveSync = <A, E>(program: Program<A, E>, execute: (step: Step) => ReadonlyArray<Row>) => {
  let next = program.next()
  while (!next.done) next = program.next(execute(next.value))
  return next.value
}

/** Drives a program with one Effect per step. */
const driveEffect = <A, E>(
  program: Program<A, E>,
  execute: (step: Step) => Effect.Effect<ReadonlyArray<Row>, SqlError>
): Effect.Effect<Either.Either<A, E>, SqlError> => {
  const loop = (
    next: IteratorResult<Step, Either.Either<A, E>>
  ): Effect.Effect<Either.Either<A, E>, SqlError> =>
    next.done
      ? Effect.succeed(next.value)
      : Effect.flatMap(execute(next.value), (rows) => loop(program.next(rows)))
  return Effect.suspend(() => loop(program.next()))
}

const driverError = (cause: unknown) =>
  cause instanceof SqlError ? cause : new SqlError({ cause, message: "Failed to execute statement" })

export interface RunnerOptions {
  /** The statement that opens a write transaction (`BEGIN IMMEDIATE` on SQLite: the lock first). */
  readonly begin: string
  /**
   * The client's only connection, when it has one that runs statements synchronously: a program
   * then runs on it directly, from BEGIN to COMMIT without yielding — no other fiber can come in
   * between, so it needs no reservation of the connection (unless another transaction is open
   * on it, or the database is locked: then the program waits its turn like any other).
   */
  readonly connection?: Connection | undefined
}

/**
 * Runs programs in transactions on `sql`'s connections. Inside a transaction opened with
 * `sql.withTransaction`, a program joins it; otherwise it gets one of its own.
 */
export const makeRunner = (sql: SqlClient, options: RunnerOptions) => {
  const only = options.connection !== undefined && isSync(options.connection) ? options.connection : undefined
  return <A, E>(make: () => Program<A, E>): Effect.Effect<A, E | SqlError> =>
    Effect.flatMap(Effect.serviceOption(Client.TransactionConnection), (open) => {
      if (Option.isSome(open)) {
        const [connection] = open.value
        return Effect.flatMap(
          driveEffect(make(), (step) => execute(connection, step)),
          fromEither
        )
      }
      if (only === undefined) return pooled(sql, make)
      if (!only.inTransaction()) {
        const done = runAtOnce(only, options.begin, make)
        if (done !== undefined) return Effect.flatMap(done, fromEither)
      }
      return reserved(sql, options, make)
    })
}

/**
 * A client with a pool of connections: the program runs statement by statement on the connection
 * of a transaction of its own (a Left fails inside it, so that it rolls back).
 */
const pooled = <A, E>(sql: SqlClient, make: () => Program<A, E>) =>
  sql.withTransaction(
    Effect.flatMap(Effect.serviceOption(Client.TransactionConnection), (open) =>
      Effect.flatMap(
        driveEffect(
          make(),
          (step) => Option.isSome(open) ? execute(open.value[0], step) : sql.unsafe(step.sql, step.params)
        ),
        fromEither
      ))
  )

/**
 * The fast path: BEGIN, the program and COMMIT, synchronously. Undefined when BEGIN finds the
 * database locked by another connection: the caller then waits through the Effect path.
 */
const runAtOnce = <A, E>(
  connection: SyncConnection,
  begin: string,
  make: () => Program<A, E>
): Effect.Effect<Either.Either<A, E>, SqlError> | undefined => {
  try {
    connection.executeSync(begin, [])
  } catch (cause) {
    if (isBusyError(cause)) return undefined
    return Effect.fail(driverError(cause))
  }
  return finish(connection, make)
}

/** Runs the program and ends the transaction BEGIN opened, synchronously. */
const finish = <A, E>(
  connection: SyncConnection,
  make: () => Program<A, E>
): Effect.Effect<Either.Either<A, E>, SqlError> => {
  let result: Either.Either<A, E>
  try {
    result = driveSync(make(), (step) => connection.executeSync(step.sql, step.params))
  } catch (cause) {
    return Effect.zipRight(rollback(connection), Effect.fail(driverError(cause)))
  }
  if (Either.isLeft(result)) return Effect.as(rollback(connection), result)
  try {
    connection.executeSync("COMMIT", [])
    return Effect.succeed(result)
  } catch (cause) {
    // SQLite may refuse a COMMIT while readers hold the database (rollback-journal mode): the
    // Effect path waits and retries it (and rolls back if it still fails)
    return isBusyError(cause)
      ? Effect.as(connection.executeUnprepared("COMMIT", [], undefined), result)
      : Effect.zipRight(rollback(connection), Effect.fail(driverError(cause)))
  }
}

/** SQLite's "database is locked" (5), on a driver error. */
const isBusyError = (cause: unknown) =>
  typeof cause === "object" && cause !== null && "errcode" in cause && typeof cause.errcode === "number" &&
  (cause.errcode & 0xff) === 5

/** The Effect path: the connection reserved for the transaction, statement by statement or at once. */
const reserved = <A, E>(sql: SqlClient, options: RunnerOptions, make: () => Program<A, E>) =>
  Effect.scoped(Effect.flatMap(sql.reserve, (connection) =>
    isSync(connection)
      ? Effect.flatMap(runSync(connection, options.begin, make), fromEither)
      // a Left fails inside the transaction, so that it rolls back
      : sql.withTransaction(
        Effect.flatMap(
          driveEffect(make(), (step) => execute(connection, step)),
          fromEither
        )
      )))

/** A step on a connection (`@effect/sql` types a connection's rows loosely; they are rows). */
export const execute = (connection: Connection, step: Step): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
  Effect.map(connection.execute(step.sql, step.params, undefined), (rows: ReadonlyArray<Row>) => rows)

/**
 * Runs statements for the store: inside a transaction, straight on its connection; outside one,
 * synchronously on the client's only connection when it has one and no transaction is open on it
 * (a single statement cannot interleave with anything then), else through `@effect/sql`'s statement
 * pipeline, which also waits when the database is locked. The pipeline's own cost (its span, its
 * connection lookup) is several times a small statement's (bench/README.md).
 */
export const makeRun = (options: { readonly connection?: Connection | undefined }) => {
  const only = options.connection !== undefined && isSync(options.connection) ? options.connection : undefined
  return (statement: Statement.Statement<Row>): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
    Effect.flatMap(Effect.serviceOption(Client.TransactionConnection), (open) => {
      if (Option.isSome(open)) {
        const [text, params] = statement.compile()
        return execute(open.value[0], { sql: text, params })
      }
      if (only === undefined || only.inTransaction()) return statement
      const [text, params] = statement.compile()
      try {
        return Effect.succeed(only.executeSync(text, params))
      } catch (cause) {
        return isBusyError(cause) ? statement : Effect.fail(driverError(cause))
      }
    })
}

/**
 * `makeRun` for rows as arrays of column values (`statement.values`), for the hot reads: building
 * an object per row costs the driver a quarter of a read's time.
 */
export const makeRunValues = (options: { readonly connection?: Connection | undefined }) => {
  const only = options.connection !== undefined && isSync(options.connection) ? options.connection : undefined
  return (
    statement: Statement.Statement<Row>
  ): Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError> =>
    Effect.flatMap(Effect.serviceOption(Client.TransactionConnection), (open) => {
      if (Option.isSome(open)) {
        const [text, params] = statement.compile()
        return open.value[0].executeValues(text, params)
      }
      if (only?.executeValuesSync === undefined || only.inTransaction()) return statement.values
      const [text, params] = statement.compile()
      try {
        return Effect.succeed(only.executeValuesSync(text, params))
      } catch (cause) {
        return isBusyError(cause) ? statement.values : Effect.fail(driverError(cause))
      }
    })
}

const fromEither = <A, E>(result: Either.Either<A, E>): Effect.Effect<A, E> =>
  Either.isLeft(result) ? Effect.fail(result.left) : Effect.succeed(result.right)

/** BEGIN through the connection's Effect (it waits for another writer's lock), then the rest at once. */
const runSync = <A, E>(
  connection: SyncConnection,
  begin: string,
  make: () => Program<A, E>
): Effect.Effect<Either.Either<A, E>, SqlError> =>
  Effect.flatMap(connection.executeUnprepared(begin, [], undefined), () => finish(connection, make))

const rollback = (connection: SyncConnection) =>
  Effect.catchAll(
    connection.executeUnprepared("ROLLBACK", [], undefined),
    (error) => Effect.logWarning("a write transaction could not be rolled back", error)
  )
