// Series keys and their entities, held once for all the minutes that hold the series: a minute's table
// (./minute-table.ts) names a series' entity by a number. An entity is forgotten, and its number reused, once no
// minute holds it.
import type { Entity } from "../domain/series.ts"

export class EntityRegistry {
  private readonly ids = new Map<string, number>()
  private readonly keys: Array<string | undefined> = []
  private readonly entities: Array<Entity | undefined> = []
  /** How many minutes hold each entity. */
  private holders = new Int32Array(1024)
  private readonly free: Array<number> = []

  /** The number of `key`, if some minute holds it. */
  idOf(key: string): number | undefined {
    return this.ids.get(key)
  }

  key(id: number): string {
    return this.keys[id]!
  }

  entity(id: number): Entity {
    return this.entities[id]!
  }

  /** One more minute holds `key` (a new one: with `entity`, the first the aggregator made for it); its number. */
  hold(key: string, entity: Entity): number {
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.free.pop() ?? this.keys.length
      this.ids.set(key, id)
      this.keys[id] = key
      this.entities[id] = entity
      if (id >= this.holders.length) {
        const wider = new Int32Array(2 * this.holders.length)
        wider.set(this.holders)
        this.holders = wider
      }
    }
    this.holders[id]++
    return id
  }

  /** A minute that held `id` is gone. */
  release(id: number): void {
    if (--this.holders[id] > 0) return
    this.ids.delete(this.keys[id]!)
    this.keys[id] = undefined
    this.entities[id] = undefined
    this.free.push(id)
  }

  /** Entities held. */
  get size(): number {
    return this.ids.size
  }
}
