/**
 * Server-sent events → their `data:` payloads, as text arrives.
 *
 * We feed Effect's own SSE parser (`Sse.makeParser`) directly instead of `Sse.makeChannel`: the
 * channel obeys `retry:` fields by sleeping and re-reading, which belongs to EventSource
 * reconnection. A POST stream is never reconnected, so the field is ignored here.
 *
 * @since 0.1.0
 */
import * as Sse from "@effect/experimental/Sse"
import { Effect, Stream } from "effect"
import { LlmConnectionError } from "../../Errors.js"

/**
 * The `data` of each event. Comment lines (keep-alives such as OpenRouter's `: PROCESSING`) and
 * event names are dropped. At the end of the body a pending event that lacks its closing blank
 * line is still delivered; a half-written one then fails decoding, which is the right outcome.
 */
export const sseData =
  (provider: string) =>
  <E, R>(text: Stream.Stream<string, E, R>): Stream.Stream<string, E | LlmConnectionError, R> =>
    Stream.suspend(() => {
      let ready: Array<string> = []
      const parser = Sse.makeParser((event) => {
        if (event._tag === "Event") ready.push(event.data)
      })
      const feed = (piece: string): Effect.Effect<ReadonlyArray<string>, LlmConnectionError> => {
        const error = parser.feed(piece)
        if (error !== undefined) {
          return Effect.fail(new LlmConnectionError({ provider, detail: error.message }))
        }
        const out = ready
        ready = []
        return Effect.succeed(out)
      }
      return text.pipe(Stream.concat(Stream.succeed("\n\n")), Stream.mapConcatEffect(feed))
    })
