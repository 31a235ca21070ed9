// Where the query API's data lives (docs/scale-out.md): `memory`, this process's own store (one replica, the
// default), or `prometheus`, a Prometheus-compatible TSDB every replica remote-writes its minutes to and every
// replica answers from. src/app.ts picks the store and query Layers by it.
import { Schema } from "effect"
import { setting } from "../util/setting.ts"

export const storageMode = setting({
  names: ["MESHSIGHT_STORAGE"],
  schema: Schema.Trim.pipe(Schema.decodeTo(Schema.Literals(["memory", "prometheus"]))),
  expected: "memory or prometheus",
  default: "memory" as "memory" | "prometheus"
})
