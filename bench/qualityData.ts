/**
 * The conversations the quality benchmark ingests: turns by two speakers grouped in dated
 * sessions, and questions whose answers lie in annotated evidence turns. Both sources share this
 * shape: the synthetic generator (qualitySynthetic.ts) and files in the LoCoMo shape (one JSON
 * object a line: `conversation`, `speakers`, `turns`, `qa`), decoded here with Schema.
 */
import { Either, ParseResult, Schema } from "effect"
import * as NodeFs from "node:fs"

export const Turn = Schema.Struct({
  id: Schema.String,
  session: Schema.Number,
  /** The session's date as the source writes it ("1:56 pm on 8 May, 2023"). */
  date: Schema.String,
  speaker: Schema.String,
  text: Schema.String
})
export type Turn = typeof Turn.Type

export const Question = Schema.Struct({
  q: Schema.String,
  /** LoCoMo answers are strings, a few are numbers. */
  a: Schema.Union(Schema.String, Schema.Number),
  evidence: Schema.Array(Schema.String),
  category: Schema.Number
})

export const LocomoLine = Schema.Struct({
  conversation: Schema.Union(Schema.String, Schema.Number),
  speakers: Schema.Tuple(Schema.String, Schema.String),
  turns: Schema.Array(Turn),
  qa: Schema.Array(Question)
})

/** A question, its expected answer, the turns that hold it and the group it is reported under. */
export interface Probe {
  readonly question: string
  readonly answer: string
  readonly evidence: ReadonlyArray<string>
  /** A LoCoMo category ("4 single-hop") or a synthetic fact kind ("dates"). */
  readonly group: string
}

export interface Conversation {
  readonly id: string
  /** The first speaker is recorded as the user, the second as the assistant. */
  readonly speakers: readonly [string, string]
  readonly turns: ReadonlyArray<Turn>
  readonly probes: ReadonlyArray<Probe>
  /** Whether a message starts with its speaker's name ("Caroline: …"): on for two people talking. */
  readonly namedSpeakers: boolean
}

export const LOCOMO_CATEGORIES: Readonly<Record<number, string>> = {
  1: "1 multi-hop",
  2: "2 temporal",
  3: "3 open-domain",
  4: "4 single-hop",
  5: "5 adversarial"
}

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(LocomoLine))

/** Reads a JSONL file in the LoCoMo shape; a line that does not decode stops with its number. */
export const readLocomo = (path: string): Array<Conversation> =>
  NodeFs.readFileSync(path, "utf8").split("\n").flatMap((line, index) => {
    if (line.trim() === "") return []
    const decoded = decodeLine(line)
    if (Either.isLeft(decoded)) {
      throw new Error(
        `${path}:${index + 1} is not a conversation in the LoCoMo shape: ${
          ParseResult.TreeFormatter.formatErrorSync(decoded.left)
        }`
      )
    }
    const { conversation, qa, speakers, turns } = decoded.right
    return [{
      id: String(conversation),
      speakers,
      turns,
      namedSpeakers: true,
      probes: qa.map((item) => ({
        question: item.q,
        answer: String(item.a),
        evidence: item.evidence,
        group: LOCOMO_CATEGORIES[item.category] ?? `category ${item.category}`
      }))
    }]
  })

/** The line that opens a session in the recorded text: its number and date. */
export const sessionHeader = (turn: Turn): string => `Session ${turn.session}, ${turn.date}`

/**
 * Each turn as the text recorded for it: the session header before a session's first turn, the
 * speaker's name in front when the conversation has named speakers.
 */
export const renderTurns = (conversation: Conversation): Array<string> => {
  let session = Number.NaN
  return conversation.turns.map((turn) => {
    const header = turn.session === session ? "" : `${sessionHeader(turn)}\n`
    session = turn.session
    return `${header}${conversation.namedSpeakers ? `${turn.speaker}: ` : ""}${turn.text}`
  })
}
