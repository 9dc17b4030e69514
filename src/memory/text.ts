/**
 * Cutting text for the memory tools without splitting a character: JavaScript strings index
 * UTF-16 code units, and an emoji or a rare CJK character is two of them (a surrogate pair). A
 * cut between the two leaves a lone surrogate, which the model reads as U+FFFD.
 *
 * @internal
 */

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff

/** Whether `index` falls between the two halves of a surrogate pair. */
const splitsPair = (text: string, index: number): boolean =>
  index > 0 && index < text.length && isLowSurrogate(text.charCodeAt(index)) &&
  isHighSurrogate(text.charCodeAt(index - 1))

/** `index`, moved back one unit when it would split a surrogate pair. */
export const floorBoundary = (text: string, index: number): number => {
  const at = Math.max(0, Math.min(text.length, index))
  return splitsPair(text, at) ? at - 1 : at
}

/** `index`, moved forward one unit when it would split a surrogate pair. */
export const ceilBoundary = (text: string, index: number): number => {
  const at = Math.max(0, Math.min(text.length, index))
  return splitsPair(text, at) ? at + 1 : at
}

/** The length of the first character of `text` in code units (0 for empty text). */
export const firstCharLength = (text: string): number => ceilBoundary(text, 1)

/** `text.slice(start, end)`, both ends moved back to a character boundary. */
export const sliceChars = (text: string, start: number, end: number = text.length): string =>
  text.slice(floorBoundary(text, start), floorBoundary(text, end))

/** At most `max` code units of `text`, cut on a character and marked with `…` when cut. */
export const clipChars = (text: string, max: number): string =>
  text.length <= max ? text : `${sliceChars(text, 0, Math.max(0, max - 1))}…`
