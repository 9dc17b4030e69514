/**
 * Regular expressions for `grep`, run by RE2 (the `re2js` port): its matching time grows with the
 * input times the size of the compiled pattern, never exponentially, so no pattern a model sends
 * can freeze the process the way a backtracking `(a|a)*$` does in JavaScript's RegExp.
 *
 * Patterns use RE2 syntax, case-insensitive. The JavaScript spellings RE2 lacks are translated
 * (`\uXXXX`, `\u{…}`, `\cX`); what RE2 cannot do at all (backreferences, lookaround) is refused
 * with a message saying what to write instead.
 *
 * Linear is not yet bounded: a pattern of 1,000 instructions over a 200,000-character tool output
 * is minutes of work in one synchronous call. So the compiled size is capped, and each text is
 * searched in a window whose length shrinks as the pattern grows (`window`).
 *
 * @internal
 */
import { Either } from "effect"
import { RE2JS } from "re2js"
import { InvalidInput } from "../Errors.js"
import { sliceChars } from "./text.js"

/** Instructions of the largest compiled pattern accepted. */
export const MAX_INSTRUCTIONS = 1_000
/** Work allowed per searched text: window length × pattern instructions. */
const WORK_PER_TEXT = 4_000_000
/** The longest window, whatever the pattern. */
export const MAX_WINDOW = 200_000

/** A compiled pattern. */
export interface Pattern {
  /** Code units searched of each text: the first `window` of a longer text. */
  readonly window: number
  /** The first match within the window of `text`, as code-unit offsets. */
  readonly find: (text: string) => { readonly start: number; readonly end: number } | undefined
}

const refuse = (reason: string) => Either.left(new InvalidInput({ field: "pattern", reason }))

const BACKREFERENCE =
  "uses a backreference (\\1, \\k<name>), which RE2 syntax does not have (it matches in linear time " +
  "and never compares with earlier text): write the repeated text out, or use fulltext mode"
const LOOKAROUND =
  "uses lookahead or lookbehind ((?=…), (?!…), (?<=…), (?<!…)), which RE2 syntax does not have: " +
  "make the surrounding text part of the match instead (foo(bar) rather than (?<=foo)bar)"

const hex = (code: number) => `\\x{${code.toString(16)}}`

/**
 * The pattern in RE2 syntax: JavaScript-only escapes translated, backreferences and lookaround
 * refused. Escapes and character classes are followed as RE2 parses them (a `]` right after
 * `[` or `[^` is a literal; `\Q…\E` is literal text), so `[(?=]` or `\\1` are not mistaken.
 */
export const toRe2Syntax = (pattern: string): Either.Either<string, InvalidInput> => {
  let out = ""
  let inClass = false
  let i = 0
  while (i < pattern.length) {
    const c = pattern[i]!
    if (c === "\\") {
      const next = pattern[i + 1]
      if (next === "Q") {
        // literal text up to \E (or the end): copied as is
        const end = pattern.indexOf("\\E", i + 2)
        const stop = end === -1 ? pattern.length : end + 2
        out += pattern.slice(i, stop)
        i = stop
        continue
      }
      if (!inClass && next !== undefined && /[1-9]/.test(next)) return refuse(BACKREFERENCE)
      if (next === "k" && pattern[i + 2] === "<") return refuse(BACKREFERENCE)
      if (next === "u") {
        const braced = /^\\u\{([0-9a-fA-F]{1,6})\}/.exec(pattern.slice(i))
        const plain = /^\\u([0-9a-fA-F]{4})/.exec(pattern.slice(i))
        const match = braced ?? plain
        if (match !== null) {
          out += hex(parseInt(match[1]!, 16))
          i += match[0].length
          continue
        }
      }
      if (next === "c" && /^[A-Za-z]$/.test(pattern[i + 2] ?? "")) {
        out += hex(pattern.charCodeAt(i + 2) % 32)
        i += 3
        continue
      }
      // any other escape is RE2's to judge; keep a surrogate pair whole
      const escaped = String.fromCodePoint(pattern.codePointAt(i + 1) ?? 0x5c)
      out += next === undefined ? c : c + escaped
      i += next === undefined ? 1 : 1 + escaped.length
      continue
    }
    if (inClass) {
      if (c === "]") inClass = false
      out += c
      i += 1
      continue
    }
    if (c === "[") {
      inClass = true
      // RE2 reads a `]` right after `[` or `[^` as a literal member
      const head = /^\[\^?\]?/.exec(pattern.slice(i))![0]
      out += head
      i += head.length
      continue
    }
    if (c === "(" && /^\(\?(?:[=!]|<[=!])/.test(pattern.slice(i, i + 4))) return refuse(LOOKAROUND)
    out += c
    i += 1
  }
  return Either.right(out)
}

/** Compiles a grep pattern, or says what to change. */
export const compile = (pattern: string): Either.Either<Pattern, InvalidInput> =>
  Either.flatMap(toRe2Syntax(pattern), (source) => {
    let re: RE2JS
    try {
      re = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE)
    } catch (error) {
      return refuse(
        `is not a valid RE2 regular expression (${
          error instanceof Error ? error.message : String(error)
        }); fix it, or use fulltext mode`
      )
    }
    const instructions = re.matcher("").programSize()
    if (instructions > MAX_INSTRUCTIONS) {
      return refuse(
        `is too large once compiled (${instructions} instructions, at most ${MAX_INSTRUCTIONS}): ` +
          "use smaller repeat counts (like {1,50} rather than {1,1000}) or a shorter pattern"
      )
    }
    const window = Math.min(MAX_WINDOW, Math.floor(WORK_PER_TEXT / Math.max(1, instructions)))
    return Either.right<Pattern>({
      window,
      find: (text) => {
        const searched = text.length > window ? sliceChars(text, 0, window) : text
        // the boolean test runs on RE2's DFA and rejects most texts fast; only a hit is located
        if (!re.test(searched)) return undefined
        const matcher = re.matcher(searched)
        return matcher.find() ? { start: matcher.start(), end: matcher.end() } : undefined
      }
    })
  })
