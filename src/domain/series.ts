// A series: what is kept for one entity in one minute. The aggregator builds minute buckets of series, the store
// (src/store/) merges and keeps them, the query stage reads them; their keys are built in src/aggregation/entity.ts.
import type { DetectPoint } from "./mesh-metric.ts"
import type { SeriesStats } from "./series-stats.ts"

/** The entities metrics are kept for (docs/design.md §5). */
export type Entity =
  | { readonly scope: "service"; readonly service: string; readonly namespace: string }
  | { readonly scope: "instance"; readonly service: string; readonly namespace: string; readonly instance: string }
  | { readonly scope: "endpoint"; readonly service: string; readonly namespace: string; readonly endpoint: string }
  | {
      readonly scope: "serviceRelation"
      readonly detectPoint: DetectPoint
      readonly source: string
      readonly sourceNamespace: string
      readonly target: string
      readonly targetNamespace: string
    }
  | {
      readonly scope: "instanceRelation"
      readonly detectPoint: DetectPoint
      readonly source: string
      readonly sourceInstance: string
      readonly target: string
      readonly targetInstance: string
    }

export interface Series {
  readonly entity: Entity
  readonly stats: SeriesStats
}

/** A minute's series by series key. */
export type MinuteBucket = Map<string, Series>
