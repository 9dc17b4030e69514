/**
 * Id generation: a prefix plus a ULID whose time part comes from Effect's `Clock` (so `TestClock`
 * drives it) and which stays monotonic within one millisecond. We use the `ulid` package for the
 * encoding and the monotonic factory: small, maintained, crypto-random, no dependencies.
 *
 * @internal
 */
import { Clock, Effect } from "effect"
import { createHash, randomFillSync } from "node:crypto"
import { monotonicFactory } from "ulid"
import type { FileId, MessageId, PartId, SessionId, SummaryId } from "../Domain.js"
import type { RunId } from "../operators/Run.js"

/**
 * Random numbers for the ULIDs' random part, drawn from the system CSPRNG a few KB at a time:
 * one `randomFillSync` per id (the default) is the single largest cost of generating ids.
 */
const bufferedRandom = (() => {
  const words = new Uint32Array(1024)
  let next = words.length
  return (): number => {
    if (next === words.length) {
      randomFillSync(words)
      next = 0
    }
    return words[next++]! / 0x1_0000_0000
  }
})()

const next = monotonicFactory(bufferedRandom)

const make = (prefix: string) => Effect.map(Clock.currentTimeMillis, (now) => `${prefix}_${next(now)}`)

export const sessionId: Effect.Effect<SessionId> = make("sess") as Effect.Effect<SessionId>
export const messageId: Effect.Effect<MessageId> = make("msg") as Effect.Effect<MessageId>
export const partId: Effect.Effect<PartId> = make("part") as Effect.Effect<PartId>
export const summaryId: Effect.Effect<SummaryId> = make("sum") as Effect.Effect<SummaryId>
export const runId: Effect.Effect<RunId> = make("run") as Effect.Effect<RunId>

/** `file_` + hex SHA-256 of the content: the same bytes always get the same id. */
export const fileId = (content: string | Uint8Array): FileId =>
  `file_${createHash("sha256").update(content).digest("hex")}` as FileId
