/**
 * A tool call whose arguments arrived as JSON text, made whole: empty arguments mean "no
 * arguments", and invalid JSON is kept raw with the reason, never guessed at (the tool loop tells
 * the model its input was invalid).
 *
 * @since 0.1.0
 */
import type { ToolCall } from "../../LlmProvider.js"

export const toolCallOf = (id: string, name: string, json: string): ToolCall => {
  if (json.trim() === "") return { type: "tool_call", id, name, input: {} }
  try {
    return { type: "tool_call", id, name, input: JSON.parse(json) as unknown }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return {
      type: "tool_call",
      id,
      name,
      input: json,
      inputError: `the arguments are not valid JSON (${reason})`
    }
  }
}
