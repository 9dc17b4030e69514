/**
 * Fault injection for any backend: a connection wrapper that fails the Nth data statement from
 * the moment it is armed, before the statement reaches the database. Transaction control (BEGIN,
 * COMMIT, ROLLBACK, savepoints: `executeUnprepared` in `@effect/sql`) passes through, so a failed
 * operation rolls back the way a real failure would make it. A connection that also runs
 * statements synchronously (storage/Program.ts) has that path counted and failed the same way.
 */
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Stream } from "effect"
import { isSync, type SyncConnection } from "../../src/storage/Program.js"

export interface Faults {
  /** Wraps a connection; pass it to a backend's `open({ wrapConnection })`. */
  readonly wrap: (connection: Connection) => Connection
  /** From now on, the `n`th data statement (1 = the next) fails. */
  readonly arm: (n: number) => void
  readonly disarm: () => void
  /** Data statements executed since the last `arm`. */
  readonly executed: () => number
}

export const INJECTED = "injected failure"

const CONTROL = /^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/

export const makeFaults = (): Faults => {
  let failAt = Number.POSITIVE_INFINITY
  let count = 0
  const next = () => ++count === failAt
  const fail = () => new SqlError({ cause: new Error(INJECTED), message: INJECTED })
  const guard = <A>(run: () => Effect.Effect<A, SqlError>) =>
    Effect.suspend(() => next() ? Effect.fail(fail()) : run())
  return {
    wrap: (connection) => {
      const wrapped: Connection = {
        execute: (sql, params, transformRows) => guard(() => connection.execute(sql, params, transformRows)),
        executeRaw: (sql, params) => guard(() => connection.executeRaw(sql, params)),
        executeValues: (sql, params) => guard(() => connection.executeValues(sql, params)),
        executeUnprepared: (sql, params, transformRows) =>
          connection.executeUnprepared(sql, params, transformRows),
        executeStream: (sql, params, transformRows) =>
          Stream.unwrap(guard(() => Effect.succeed(connection.executeStream(sql, params, transformRows))))
      }
      if (!isSync(connection)) return wrapped
      const sync: SyncConnection = {
        ...wrapped,
        executeSync: (sql, params) => {
          // transaction control passes, as on the Effect path
          if (!CONTROL.test(sql) && next()) throw fail()
          return connection.executeSync(sql, params)
        },
        inTransaction: connection.inTransaction
      }
      return sync
    },
    arm: (n) => {
      failAt = n
      count = 0
    },
    disarm: () => {
      failAt = Number.POSITIVE_INFINITY
    },
    executed: () => count
  }
}
