/**
 * Polls `probe` until `until` holds for its value, then returns that value; fails with `what` and the last value
 * once `timeoutMs` has passed. For waiting on something another process or a loopback connection does, instead of
 * sleeping a fixed time and hoping it happened.
 */
export const waitFor = async <A>(
  what: string,
  probe: () => Promise<A> | A,
  until: (a: A) => boolean,
  timeoutMs = 10_000,
  everyMs = 50
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const a = await probe()
    if (until(a)) return a
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(a)?.slice(0, 300)}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
