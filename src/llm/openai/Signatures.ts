/**
 * Gemini's thought signatures, kept by tool-call id for the replay of each call. The store lives
 * only as long as the provider: stored messages do not carry signatures, so a call replayed after
 * a restart (or after more than `capacity` newer calls) is sent with Gemini's documented stand-in
 * instead (see `Request.ts`).
 *
 * @since 0.1.0
 */

export interface SignatureStore {
  readonly remember: (callId: string, signature: string) => void
  readonly get: (callId: string) => string | undefined
}

/** A store holding the `capacity` most recent signatures (oldest dropped first). */
export const makeSignatureStore = (capacity = 1024): SignatureStore => {
  const signatures = new Map<string, string>()
  return {
    remember: (callId, signature) => {
      signatures.delete(callId)
      signatures.set(callId, signature)
      if (signatures.size > capacity) {
        const oldest = signatures.keys().next()
        if (oldest.done !== true) signatures.delete(oldest.value)
      }
    },
    get: (callId) => signatures.get(callId)
  }
}
