// Shared copies of what many pods carry alike, so the index keeps one: label maps (the pods of a ReplicaSet have
// equal labels) and namespace names.
import type { Labels } from "./projection.ts"

/** Shares equal label maps between pods, counting their users so a map goes when its last pod does. */
export class LabelInterner {
  private readonly byKey = new Map<string, { readonly labels: Labels; refs: number }>()
  acquire(labels: Labels): Labels {
    // The API server serialises maps with sorted keys, so equal maps give equal strings.
    const key = JSON.stringify(labels)
    const entry = this.byKey.get(key)
    if (entry !== undefined) {
      entry.refs++
      return entry.labels
    }
    this.byKey.set(key, { labels, refs: 1 })
    return labels
  }
  release(labels: Labels): void {
    const key = JSON.stringify(labels)
    const entry = this.byKey.get(key)
    if (entry !== undefined && --entry.refs === 0) this.byKey.delete(key)
  }
}

/** One copy of each string (namespace names: few, and kept per pod); never shrinks. */
export class StringInterner {
  private readonly strings = new Map<string, string>()
  shared(text: string): string {
    const existing = this.strings.get(text)
    if (existing !== undefined) return existing
    this.strings.set(text, text)
    return text
  }
}
