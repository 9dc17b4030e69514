/**
 * A JSON value that conforms to a JSON Schema, for `MockLlm`'s replies to structured-output
 * requests: deterministic (the same schema and seed give the same value), varied by the seed, and
 * within the constraints Effect's `JSONSchema.make` writes (types, enums and consts, unions,
 * required properties, string and array lengths, numeric bounds, `$ref` into `$defs`).
 *
 * @internal
 */

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  u !== null && typeof u === "object" && !Array.isArray(u)

const hash = (text: string): number => {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}

const num = (u: unknown): number | undefined => (typeof u === "number" ? u : undefined)

/** A value of `schema` (resolving `$ref` against `root`), chosen by `seed`. */
const sample = (schema: unknown, root: unknown, seed: number, depth: number): Json => {
  if (!isRecord(schema) || depth > 12) return null
  if (typeof schema.$ref === "string" && isRecord(root) && isRecord(root.$defs)) {
    // Constraints beside a `$ref` (Effect writes `minimum`, `maximum` there) narrow the target.
    const { $ref, ...beside } = schema
    const target = root.$defs[$ref.replace(/^#\/\$defs\//, "")]
    return sample({ ...(isRecord(target) ? target : {}), ...beside }, root, seed, depth + 1)
  }

  if ("const" in schema) return toJson(schema.const)
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return toJson(schema.enum[seed % schema.enum.length])
  }
  const union = Array.isArray(schema.anyOf)
    ? schema.anyOf
    : Array.isArray(schema.oneOf)
    ? schema.oneOf
    : undefined
  if (union !== undefined && union.length > 0) {
    return sample(union[seed % union.length], root, seed, depth + 1)
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    // Every part applies: sample their union of constraints.
    const { allOf, ...beside } = schema
    const parts: ReadonlyArray<unknown> = allOf
    const merged = parts.reduce<Record<string, unknown>>(
      (all, part) => isRecord(part) ? { ...all, ...part } : all,
      {}
    )
    return sample({ ...merged, ...beside }, root, seed, depth + 1)
  }
  const types: ReadonlyArray<unknown> = Array.isArray(schema.type) ? schema.type : [schema.type]
  const type = types[0]
  switch (type) {
    case "object": {
      const properties = isRecord(schema.properties) ? schema.properties : {}
      const out: Record<string, Json> = {}
      for (const [key, value] of Object.entries(properties)) {
        out[key] = sample(value, root, seed + hash(key), depth + 1)
      }
      return out
    }
    case "array": {
      const min = num(schema.minItems) ?? 1
      const max = num(schema.maxItems) ?? Math.max(min, 2)
      const length = Math.min(max, Math.max(min, 1 + (seed % 2)))
      return Array.from({ length }, (_, i) => sample(schema.items, root, seed + i, depth + 1))
    }
    case "string": {
      const min = num(schema.minLength) ?? 0
      const max = num(schema.maxLength) ?? Infinity
      const base = `mock-${(seed % 10_000).toString().padStart(4, "0")}`
      return base.padEnd(min, "x").slice(0, max)
    }
    case "integer":
    case "number": {
      const low = num(schema.minimum) ?? (num(schema.exclusiveMinimum) ?? -1) + 1
      const high = num(schema.maximum) ?? (num(schema.exclusiveMaximum) ?? low + 101) - 1
      return high < low ? low : low + (seed % Math.max(1, Math.floor(high - low) + 1))
    }
    case "boolean":
      return seed % 2 === 0
    case "null":
      return null
    default:
      return `mock-${seed % 10_000}`
  }
}

/** A schema's `const` or `enum` value as JSON (what is not JSON reads as null). */
const toJson = (u: unknown): Json => {
  if (u === null || typeof u === "boolean" || typeof u === "string") return u
  if (typeof u === "number") return Number.isFinite(u) ? u : null
  if (Array.isArray(u)) return u.map((v: unknown) => toJson(v))
  if (isRecord(u)) return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, toJson(v)]))
  return null
}

/** A value conforming to `schema`, derived from `seed` text. */
export const sampleOf = (schema: Readonly<Record<string, unknown>>, seed: string): Json =>
  sample(schema, schema, hash(seed), 0)
