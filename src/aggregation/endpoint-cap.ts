// The per-service endpoint cap (SkyWalking's maxHttpUrisNumberPerService): a service whose paths carry ids that no
// grouping rule folds would otherwise make a new endpoint series per id. Each minute, a service's first `max`
// distinct ungrouped endpoints keep their names; calls to more are counted under OTHER_ENDPOINT.

/** The endpoint that calls past the cap are counted under. */
export const OTHER_ENDPOINT = "(other)"

export interface EndpointCap {
  /**
   * Whether `endpointKey` keeps its own series in `minute` among `service`'s endpoints. Only
   * asked for series the minute's pending bucket does not hold yet, so a hot endpoint costs nothing here.
   */
  readonly admit: (minute: number, service: string, endpointKey: string) => boolean
  /** Services that first went over the cap (in some minute) since the last call. */
  readonly takeOverflowed: () => Array<string>
  /** Forgets minutes before `oldest` (past retention no record for them is accepted). */
  readonly prune: (oldest: number) => void
}

export const makeEndpointCap = (max: number): EndpointCap => {
  // minute → service → the endpoint keys admitted. The keys are the series' own strings (no copies); the
  // set is at most `max` per service and minute, small beside the series it admits.
  const admitted = new Map<number, Map<string, Set<string>>>()
  let overflowed: Array<string> = []
  const full = new Set<Set<string>>()
  return {
    admit: (minute, service, endpointKey) => {
      let services = admitted.get(minute)
      if (services === undefined) admitted.set(minute, (services = new Map()))
      let endpoints = services.get(service)
      if (endpoints === undefined) services.set(service, (endpoints = new Set()))
      if (endpoints.has(endpointKey)) return true
      if (endpoints.size < max) {
        endpoints.add(endpointKey)
        return true
      }
      if (!full.has(endpoints)) {
        full.add(endpoints)
        overflowed.push(service)
      }
      return false
    },
    takeOverflowed: () => {
      const out = overflowed
      overflowed = []
      return out
    },
    prune: (oldest) => {
      for (const [minute, services] of admitted) {
        if (minute >= oldest) continue
        for (const endpoints of services.values()) full.delete(endpoints)
        admitted.delete(minute)
      }
    }
  }
}
