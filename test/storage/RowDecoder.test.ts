import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, Equal, FastCheck as fc, ParseResult, Schema } from "effect"
import { Message, Part } from "../../src/Domain.js"
import { rowDecoder, rowValidator, valuesDecoder } from "../../src/storage/rowDecoder.js"
import { makeMessage, makeRows } from "../../src/storage/rows.js"
import { columns } from "../../src/storage/sqlite/dialect.js"

const rows = makeRows(columns)

/** Every row Schema the store decodes, with the Domain's part union for good measure. */
const schemas: ReadonlyArray<readonly [string, Schema.Schema.AnyNoContext]> = [
  ["MessageRow", rows.MessageRow],
  ["PartRow", rows.PartRow],
  ["MessageToolPartRow", rows.MessageToolPartRow],
  ["SessionRow", rows.SessionRow],
  ["SummaryRow", rows.SummaryRow],
  ["SourceRow", rows.SourceRow],
  ["ContextItemRow", rows.ContextItemRow],
  ["SnapshotRow", rows.SnapshotRow],
  ["FileReferenceRow", rows.FileReferenceRow],
  ["HitRow", rows.HitRow],
  ["ScanRow", rows.ScanRow],
  ["Part", Part]
]

/** Values a driver (or a damaged database) might hand back in place of a column's value. */
const junk = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    0,
    1,
    2,
    -1,
    0.5,
    Number.NaN,
    "",
    "0",
    "1",
    "{}",
    "[]",
    "{",
    "null",
    true,
    false
  ),
  fc.constantFrom(
    "user",
    "system",
    "text",
    "tool",
    "completed",
    "bogus",
    "msg_x",
    "sess_01ARZ3NDEKTSV4RRFFQ69G5FAV"
  ),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.json(),
  // Parsed JSON objects; keys that shadow Object.prototype's methods are left out, because Effect's
  // own error message for such a value throws (String({ toString: {} })) before either decoder answers.
  fc.dictionary(fc.string().filter((key) => !(key in Object.prototype)), fc.jsonValue({ maxDepth: 1 }), {
    maxKeys: 3
  })
)

/** A valid row of `schema` (its type side encoded), then possibly damaged: fields replaced, dropped or added. */
const rowOf = (schema: Schema.Schema.AnyNoContext) => {
  const encode: (value: unknown) => unknown = Schema.encodeUnknownSync(schema)
  return fc.tuple(
    Arbitrary.make(schema).map((value: unknown) => encode(value)),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom("replace", "delete", "add"), junk), { maxLength: 3 })
  ).map(([row, damages]) => {
    const out: Record<string, unknown> = typeof row === "object" && row !== null ? { ...row } : {}
    const keys = Object.keys(out)
    for (const [index, kind, value] of damages) {
      const key = keys.length === 0 ? "extra" : keys[index % keys.length]!
      if (kind === "replace") out[key] = value
      else if (kind === "delete") delete out[key]
      else out[`extra_${index}`] = value
    }
    return out
  })
}

/** The fast path and the Schema agree: both reject, or both accept with equal values. */
const agree = (schema: Schema.Schema.AnyNoContext, row: unknown) => {
  const slow: Either.Either<unknown, ParseResult.ParseError> = Schema.decodeUnknownEither(schema)(row)
  const fast: unknown = rowValidator(schema)(row)
  if (Either.isLeft(slow)) expect(fast).toBeUndefined()
  else expect(fast).toStrictEqual(slow.right)
  return Either.isRight(slow)
}

describe("rowDecoder", () => {
  for (const [name, schema] of schemas) {
    it(`accepts exactly the ${name} rows the Schema accepts, with the same values`, () => {
      let accepted = 0
      let rejected = 0
      fc.assert(
        fc.property(fc.oneof(rowOf(schema), junk), (row) => {
          if (agree(schema, row)) accepted++
          else rejected++
        }),
        { numRuns: 400 }
      )
      // both sides of the property were exercised
      expect(accepted).toBeGreaterThan(0)
      expect(rejected).toBeGreaterThan(0)
    })
  }

  for (const [name, schema] of schemas) {
    it(`decodes ${name} rows given as column values exactly as the Schema decodes them as objects`, () => {
      let accepted = 0
      fc.assert(
        fc.property(
          rowOf(schema),
          fc.array(fc.constantFrom("id", "type", "content", "part_id", "role", "extra"), { maxLength: 3 }),
          fc.boolean(),
          (row, more, reverse) => {
            // the row's columns, in some order, sometimes with columns the Schema does not know
            const keys = [...new Set([...Object.keys(row), ...more])]
            const columns = reverse ? keys.reverse() : keys
            const values = columns.map((column) => row[column])
            const asObject: Record<string, unknown> = {}
            columns.forEach((column, index) => {
              asObject[column] = values[index]
            })
            const slow: Either.Either<unknown, ParseResult.ParseError> = Schema.decodeUnknownEither(schema)(
              asObject
            )
            const fast: Either.Either<unknown, ParseResult.ParseError> = valuesDecoder(schema, columns)(
              values
            )
            if (Either.isLeft(slow)) {
              expect(Either.isLeft(fast) && ParseResult.TreeFormatter.formatErrorSync(fast.left)).toBe(
                ParseResult.TreeFormatter.formatErrorSync(slow.left)
              )
            } else {
              accepted++
              expect(fast).toStrictEqual(slow)
            }
          }
        ),
        { numRuns: 300 }
      )
      expect(accepted).toBeGreaterThan(0)
    })
  }

  it("fails a bad row with the Schema's own error", () => {
    const bad = { id: "msg_1", session_id: 3, seq: 1 }
    const fast = rowDecoder(rows.MessageRow)(bad)
    const slow = Schema.decodeUnknownEither(rows.MessageRow)(bad)
    expect(Either.isLeft(fast) && Either.isLeft(slow)).toBe(true)
    if (Either.isLeft(fast) && Either.isLeft(slow)) {
      expect(ParseResult.TreeFormatter.formatErrorSync(fast.left)).toBe(
        ParseResult.TreeFormatter.formatErrorSync(slow.left)
      )
    }
  })

  it("rejects stored JSON that is not JSON, booleans that are not 0/1, unknown part types", () => {
    const part = { part_id: "part_1", token_count: 3, type: "text", content: "{\"text\":\"hi\"}" }
    const validate = rowValidator(rows.PartRow)
    expect(validate(part)).toStrictEqual({
      part_id: "part_1",
      token_count: 3,
      type: "text",
      content: { text: "hi" }
    })
    expect(validate({ ...part, content: "{\"text\":" })).toBeUndefined()
    expect(validate({ ...part, content: "{\"text\":3}" })).toBeUndefined()
    expect(validate({ ...part, type: "image" })).toBeUndefined()
    expect(rowValidator(rows.SnapshotRow)({ compaction_triggered: 2 })).toBeUndefined()
  })

  it("makeMessage builds the message Message's constructor builds", () => {
    fc.assert(
      fc.property(Arbitrary.make(Message), (original) => {
        const fields = { ...original }
        const fast = makeMessage(fields)
        const made = new Message(fields, { disableValidation: true })
        expect(Object.getPrototypeOf(fast)).toBe(Object.getPrototypeOf(made))
        expect(Reflect.ownKeys(fast)).toStrictEqual(Reflect.ownKeys(made))
        for (const key of Reflect.ownKeys(made)) expect(Reflect.get(fast, key)).toBe(Reflect.get(made, key))
        expect(Equal.equals(fast, made)).toBe(true)
        expect(Schema.is(Message)(fast)).toBe(true)
        expect(fast.text).toBe(made.text)
      }),
      { numRuns: 200 }
    )
  })
})
