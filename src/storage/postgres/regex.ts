/**
 * grep's regular expressions (RE2 syntax, case-insensitive) as PostgreSQL's regex operator `~*`
 * can run them, to leave out of a scan the texts that cannot match. Only a pattern whose every
 * construct means the same or matches more in PostgreSQL's syntax is translated (ASCII only, no
 * `$` — RE2 searches a window of a long text, and its end is not the text's —, no flags or
 * assertions, no negated classes); for any other the scan reads every text. The caller matches
 * each text it gets with RE2 either way, so the filter can only save work, never change results.
 *
 * @internal
 */

/** Escapes passed as they are: the classes whose PostgreSQL meaning contains RE2's. */
const CLASSES = new Set(["d", "s", "w"])

/** The pattern for `~*`, or undefined when it uses anything outside the safe subset. */
export const toPostgresRegex = (pattern: string): string | undefined => {
  // printable ASCII only: case folding and classes beyond it differ between the two engines
  if (pattern.length === 0 || !/^[\x20-\x7e]*$/.test(pattern)) return undefined
  if (pattern.includes("$") || pattern.includes("(?") || pattern.includes("[:")) return undefined
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === "\\") {
      const next = pattern[i + 1]
      // inside brackets, and for anything but a class or escaped punctuation: not translated
      if (next === undefined || inClass) return undefined
      if (!CLASSES.has(next) && !/[!-/:-@[-`{-~]/.test(next)) return undefined
      i++
      continue
    }
    if (!inClass && (c === "{" || c === "}")) {
      // only a whole bound `{n}`, `{n,}`, `{n,m}`: RE2 reads a broken one as text, PostgreSQL does not
      const bound = c === "{" ? /^\{\d+(,\d*)?\}/.exec(pattern.slice(i)) : null
      if (bound === null || i === 0 || "^(|".includes(pattern[i - 1]!)) return undefined
      i += bound[0].length - 1
      continue
    }
    if (c === "[") inClass = true
    else if (c === "]") inClass = false
    // a repeat of nothing (`^*`, `(+`, `|?`, a leading `*`) is read differently by the two engines
    else if (!inClass && "*+?".includes(c) && (i === 0 || "^(|".includes(pattern[i - 1]!))) return undefined
  }
  return pattern
}
