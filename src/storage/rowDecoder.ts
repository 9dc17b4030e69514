/**
 * Row Schemas compiled into one plain function each. Effect's own decoder wraps every field's
 * result in an `Either` and walks the Schema's tree node by node, which for the hot reads (a
 * context's 200 messages with their parts) costs more than SQLite spends reading them
 * (bench/README.md, cold build). The compiled decoder walks the same tree once, when it is made,
 * and returns the decoded value or a sentinel: the same checks (types, literals, refinement
 * filters, transformations) in the same order, and the same output (declared keys only).
 *
 * When a row fails the fast path, the Schema's own decoder runs on it, so a bad row fails with
 * exactly the error it always had. Nodes the compiler does not know (declarations, tuples,
 * index signatures, asynchronous transformations…) are decoded by the Schema's decoder in place.
 * test/storage/RowDecoder.test.ts checks, on random good and bad rows, that both decoders accept
 * the same rows and produce equal values.
 *
 * @internal
 */
import { Either, Option, ParseResult, Schema, SchemaAST as AST } from "effect"

/** Returned by a compiled node for an input its Schema rejects. */
const FAIL: unique symbol = Symbol("mnesis/rowDecoder/FAIL")

/** Marks a memo not filled yet. */
const NOT_YET: unique symbol = Symbol("mnesis/rowDecoder/NOT_YET")

type Node = (input: unknown) => unknown

const compiled = new WeakMap<AST.AST, Node>()

/** The Schema's own decoder for `ast`, as a node (for what the compiler does not handle). */
const viaSchema = (ast: AST.AST): Node => {
  const decode = ParseResult.decodeUnknownEither(Schema.make(ast))
  return (input) => {
    const result = decode(input)
    return Either.isRight(result) ? result.right : FAIL
  }
}

/**
 * Whether Effect's union decoder files `member` under a literal property (see `getLiterals` in
 * effect/ParseResult): such members are tried before the others. Undefined when unsure.
 */
const keyedByLiteral = (member: AST.AST): boolean | undefined => {
  switch (member._tag) {
    case "TypeLiteral":
      return member.propertySignatures.some((ps) => !ps.isOptional && AST.isLiteral(AST.encodedAST(ps.type)))
    case "Refinement":
      return keyedByLiteral(member.from)
    case "Transformation":
      return keyedByLiteral(member.from)
    case "Declaration":
    case "Suspend":
    case "TupleType":
      return undefined
    default:
      return false
  }
}

/**
 * A property every member is a struct with, holding a different literal in each (`type`, say):
 * then at most one member can decode a value, the one its literal names.
 */
const discriminant = (members: ReadonlyArray<AST.AST>): PropertyKey | undefined => {
  const first = members[0]
  if (first === undefined || !members.every(AST.isTypeLiteral)) return undefined
  for (const candidate of (first as AST.TypeLiteral).propertySignatures) {
    const literals = members.map((member) => {
      const ps = member.propertySignatures.find((p) => p.name === candidate.name)
      const type = ps === undefined || ps.isOptional ? undefined : ps.type
      return type !== undefined && AST.isLiteral(type) ? type.literal : FAIL
    })
    if (!literals.includes(FAIL) && new Set(literals).size === literals.length) return candidate.name
  }
  return undefined
}

const compileUnion = (ast: AST.Union): Node => {
  const members = ast.types.map(compile)
  const literalMembers = ast.types.filter(AST.isLiteral)
  if (literalMembers.length === ast.types.length) {
    const literals = new Set(literalMembers.map((member) => member.literal))
    return (input) => literals.has(input as AST.LiteralValue) ? input : FAIL
  }
  const key = discriminant(ast.types)
  if (key !== undefined) {
    const byLiteral = new Map<unknown, Node>()
    ast.types.forEach((member, index) => {
      const ps = (member as AST.TypeLiteral).propertySignatures.find((p) => p.name === key)!
      byLiteral.set((ps.type as AST.Literal).literal, members[index]!)
    })
    return (input) => {
      if (typeof input !== "object" || input === null) return FAIL
      const member = byLiteral.get((input as Record<PropertyKey, unknown>)[key])
      return member === undefined ? FAIL : member(input)
    }
  }
  // Without members keyed by literals, Effect tries them in order, the first that decodes wins.
  if (!ast.types.every((member) => keyedByLiteral(member) === false)) return viaSchema(ast)
  const first = (input: unknown) => {
    for (const member of members) {
      const out = member(input)
      if (out !== FAIL) return out
    }
    return FAIL
  }
  // NULL columns are common and each may fail several members first (`NullOr(Json(…))` parses
  // nothing, yet builds an error): the answer for null is the same every time, and kept when it
  // is a primitive (an object answer would be shared between rows).
  let ofNull: unknown = NOT_YET
  return (input) => {
    if (input !== null) return first(input)
    if (ofNull !== NOT_YET) return ofNull
    const out = first(null)
    if (out === null || (typeof out !== "object" && typeof out !== "function")) ofNull = out
    return out
  }
}

const compileTypeLiteral = (ast: AST.TypeLiteral): Node => {
  if (ast.indexSignatures.length > 0) return viaSchema(ast)
  // `{}`: anything but null and undefined
  if (ast.propertySignatures.length === 0) {
    return (input) => input === null || input === undefined ? FAIL : input
  }
  const fields = ast.propertySignatures.map((ps) => ({
    name: ps.name,
    optional: ps.isOptional,
    decode: compile(ps.type)
  }))
  return (input) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return FAIL
    const row = input as Record<PropertyKey, unknown>
    const out: Record<PropertyKey, unknown> = {}
    for (const field of fields) {
      // a missing optional field stays absent; a missing required one decodes `undefined` (Effect's default)
      if (field.optional && !Object.prototype.hasOwnProperty.call(row, field.name)) continue
      const value = field.decode(row[field.name])
      if (value === FAIL) return FAIL
      out[field.name] = value
    }
    return out
  }
}

const compileRefinement = (ast: AST.Refinement): Node => {
  const from = compile(ast.from)
  return (input) => {
    const value = from(input)
    if (value === FAIL) return FAIL
    return Option.isNone(ast.filter(value, AST.defaultParseOption, ast)) ? value : FAIL
  }
}

const compileTransformation = (ast: AST.Transformation): Node => {
  const from = compile(ast.from)
  const to = compile(ast.to)
  const { transformation } = ast
  if (AST.isComposeTransformation(transformation)) {
    return (input) => {
      const value = from(input)
      return value === FAIL ? FAIL : to(value)
    }
  }
  if (!AST.isFinalTransformation(transformation)) return viaSchema(ast)
  const fallback = viaSchema(ast)
  return (input) => {
    const value = from(input)
    if (value === FAIL) return FAIL
    const result = transformation.decode(value, AST.defaultParseOption, ast, input)
    // an asynchronous transformation: the Schema's decoder reports it as Effect does
    if (!Either.isEither(result)) return fallback(input)
    return Either.isLeft(result) ? FAIL : to(result.right)
  }
}

const compileNode = (ast: AST.AST): Node => {
  // annotations that change how a node decodes: left to the Schema
  if (
    Option.isSome(AST.getParseOptionsAnnotation(ast)) || Option.isSome(AST.getDecodingFallbackAnnotation(ast))
  ) return viaSchema(ast)
  switch (ast._tag) {
    case "StringKeyword":
      return (input) => typeof input === "string" ? input : FAIL
    case "NumberKeyword":
      return (input) => typeof input === "number" ? input : FAIL
    case "BooleanKeyword":
      return (input) => typeof input === "boolean" ? input : FAIL
    case "UndefinedKeyword":
      return (input) => input === undefined ? input : FAIL
    case "UnknownKeyword":
    case "AnyKeyword":
      return (input) => input
    case "Literal": {
      const literal = ast.literal
      return (input) => input === literal ? input : FAIL
    }
    case "Union":
      return compileUnion(ast)
    case "TypeLiteral":
      return compileTypeLiteral(ast)
    case "Refinement":
      return compileRefinement(ast)
    case "Transformation":
      return compileTransformation(ast)
    default:
      return viaSchema(ast)
  }
}

const compile = (ast: AST.AST): Node => {
  const known = compiled.get(ast)
  if (known !== undefined) return known
  const node = compileNode(ast)
  compiled.set(ast, node)
  return node
}

/**
 * A decoder of `schema` that accepts and returns exactly what `Schema.decodeUnknownEither(schema)`
 * does, faster; a row it rejects is decoded by the Schema again, for the error.
 */
export const rowDecoder = <A, I>(
  schema: Schema.Schema<A, I>
): (row: unknown) => Either.Either<A, ParseResult.ParseError> => {
  const fast = compile(schema.ast)
  const slow = Schema.decodeUnknownEither(schema)
  return (row) => {
    const out = fast(row)
    return out === FAIL ? slow(row) : Either.right(out as A)
  }
}

/**
 * The top of a row Schema (a struct, or a union of structs told apart by a literal column) read
 * from a row of column values in `columns` order, as a driver returns them without building an
 * object per row; anything else reads the row as an object.
 */
const compileColumns = (ast: AST.AST, columns: ReadonlyArray<string>): Node => {
  const indexOf = (name: PropertyKey) => typeof name === "string" ? columns.indexOf(name) : -1
  if (AST.isTypeLiteral(ast) && ast.indexSignatures.length === 0 && ast.propertySignatures.length > 0) {
    const fields = ast.propertySignatures.map((ps) => ({
      name: ps.name,
      index: indexOf(ps.name),
      optional: ps.isOptional,
      decode: compile(ps.type)
    }))
    return (input) => {
      if (!Array.isArray(input)) return FAIL
      const values: ReadonlyArray<unknown> = input
      const out: Record<PropertyKey, unknown> = {}
      for (const field of fields) {
        // a column the statement does not select is a missing key
        if (field.index < 0 && field.optional) continue
        const value = field.decode(field.index < 0 ? undefined : values[field.index])
        if (value === FAIL) return FAIL
        out[field.name] = value
      }
      return out
    }
  }
  const key = AST.isUnion(ast) ? discriminant(ast.types) : undefined
  if (AST.isUnion(ast) && key !== undefined && indexOf(key) >= 0) {
    const index = indexOf(key)
    const byLiteral = new Map<unknown, Node>()
    for (const member of ast.types) {
      const ps = (member as AST.TypeLiteral).propertySignatures.find((p) => p.name === key)!
      byLiteral.set((ps.type as AST.Literal).literal, compileColumns(member, columns))
    }
    return (input) => {
      const member = byLiteral.get((input as ReadonlyArray<unknown>)[index])
      return member === undefined ? FAIL : member(input)
    }
  }
  const asObject = compile(ast)
  return (input) => asObject(objectOf(columns, input as ReadonlyArray<unknown>))
}

/** A row of values as the object a driver would have returned for it. */
const objectOf = (columns: ReadonlyArray<string>, values: ReadonlyArray<unknown>) => {
  const row: Record<string, unknown> = {}
  columns.forEach((column, index) => {
    row[column] = values[index]
  })
  return row
}

/**
 * {@link rowDecoder} for rows of column values (`columns` names them, in order): the same
 * checks and output as the Schema decoding the row as an object, and its error for a bad row.
 */
export const valuesDecoder = <A, I>(
  schema: Schema.Schema<A, I>,
  columns: ReadonlyArray<string>
): (values: ReadonlyArray<unknown>) => Either.Either<A, ParseResult.ParseError> => {
  const annotated = Option.isSome(AST.getParseOptionsAnnotation(schema.ast)) ||
    Option.isSome(AST.getDecodingFallbackAnnotation(schema.ast))
  const fast = annotated ? undefined : compileColumns(schema.ast, columns)
  const slow = rowDecoder(schema)
  return (values) => {
    const out = fast === undefined ? FAIL : fast(values)
    return out === FAIL ? slow(objectOf(columns, values)) : Either.right(out as A)
  }
}

/** Like {@link rowDecoder}, but returns `undefined` for a row the Schema rejects (no error built). */
export const rowValidator = <A, I>(schema: Schema.Schema<A, I>): (row: unknown) => A | undefined => {
  const fast = compile(schema.ast)
  return (row) => {
    const out = fast(row)
    return out === FAIL ? undefined : out as A
  }
}
