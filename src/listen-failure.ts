// Why a server could not listen, in words: Node reports `listen EADDRINUSE: address already in use 0.0.0.0:12800`
// (grpc-js wraps it in its own sentence); start-up prints the system's reason, not the wrapping.
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "address not available on this host",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name could not be resolved"
}

export const listenFailure = (error: unknown): string => {
  const text = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown } | null)?.code
  const known = typeof code === "string" ? code : /\b(E[A-Z_]{3,})\b/.exec(text)?.[1]
  return (known !== undefined ? REASONS[known] : undefined) ?? text
}
