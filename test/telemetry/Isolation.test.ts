/**
 * `@effect/opentelemetry` is an optional peer: mnesis traces and measures with Effect's own
 * `Tracer` and `Metric`, and no module of `src/` imports `@effect/opentelemetry` or an
 * `@opentelemetry/*` package — programs that export bring them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"

const SRC = fileURLToPath(new URL("../../src/", import.meta.url))

const sources = (dir: string): Array<string> =>
  NodeFs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = NodePath.join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

/** Every module specifier a source file imports or re-exports (type-only imports included). */
const specifiers = (file: string): Array<string> =>
  [...NodeFs.readFileSync(file, "utf8").matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"/g)]
    .map((match) => match[1]!)

describe("telemetry needs no OpenTelemetry package", () => {
  it("no module of src/ imports @effect/opentelemetry or @opentelemetry/*", () => {
    const files = sources(SRC)
    expect(files.length).toBeGreaterThan(20)
    const offending = files.flatMap((file) =>
      specifiers(file)
        .filter((specifier) => /^(?:@effect\/opentelemetry|@opentelemetry\/)/.test(specifier))
        .map((specifier) => `${NodePath.relative(SRC, file)}: ${specifier}`)
    )
    expect(offending).toEqual([])
  })
})
