/**
 * The bridges' libraries are optional peers: `mnesis` and `mnesis/promise` must load without them.
 * The import graph of each entry point (every `src/` module it reaches, statically or by dynamic
 * `import()`) names none of `@effect/ai`, `ai` or `@ai-sdk/*`; the bridges' own entry points do.
 */
import { describe, expect, it } from "@effect/vitest"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"

const SRC = fileURLToPath(new URL("../../src/", import.meta.url))

/** Every module specifier a source file imports or re-exports (type-only imports included). */
const specifiers = (file: string): Array<string> => {
  const text = NodeFs.readFileSync(file, "utf8")
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"/g)].map((match) => match[1]!)
}

/** The packages an entry point's module graph imports (bare specifiers), walking `src/`. */
const packagesReached = (entry: string): Set<string> => {
  const seen = new Set<string>()
  const packages = new Set<string>()
  const queue = [NodePath.join(SRC, entry)]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    for (const specifier of specifiers(file)) {
      if (specifier.startsWith(".")) {
        queue.push(NodePath.resolve(NodePath.dirname(file), specifier.replace(/\.js$/, ".ts")))
      } else {
        packages.add(specifier)
      }
    }
  }
  return packages
}

const BRIDGED = /^(?:@effect\/ai(?:\/|$)|ai(?:\/|$)|@ai-sdk\/)/

describe("optional peers stay optional", () => {
  it.each(["index.ts", "promise.ts"])("src/%s reaches none of @effect/ai, ai, @ai-sdk/*", (entry) => {
    const reached = [...packagesReached(entry)]
    expect(reached).toContain("effect")
    expect(reached.filter((name) => BRIDGED.test(name))).toEqual([])
  })

  it.each([["effect-ai.ts", "@effect/ai/LanguageModel"], ["ai-sdk.ts", "ai"]])(
    "src/%s is where %s comes in",
    (entry, name) => {
      expect(packagesReached(entry)).toContain(name)
    }
  )
})
