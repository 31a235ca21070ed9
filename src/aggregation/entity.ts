// The entities metrics are kept for (DESIGN.md §5) and their series keys: cheap strings, built once per record.
import type { DetectPoint } from "../domain/mesh-metric.ts"

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

const SEP = "\u0000"

export const serviceKey = (service: string) => `s${SEP}${service}`
export const instanceKey = (service: string, instance: string) => `i${SEP}${service}${SEP}${instance}`
export const endpointKey = (service: string, endpoint: string) => `e${SEP}${service}${SEP}${endpoint}`
export const serviceRelationKey = (detectPoint: DetectPoint, source: string, target: string) =>
  `r${SEP}${detectPoint}${SEP}${source}${SEP}${target}`
export const instanceRelationKey = (
  detectPoint: DetectPoint,
  source: string,
  sourceInstance: string,
  target: string,
  targetInstance: string
) => `R${SEP}${detectPoint}${SEP}${source}${SEP}${sourceInstance}${SEP}${target}${SEP}${targetInstance}`
