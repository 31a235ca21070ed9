// A table whose columns sort on a click (again: the other way), remembering the choice across re-renders.
import { h } from "./dom.ts"

export interface Column<T> {
  readonly title: string
  /** The cell: text or an element (a link). */
  readonly cell: (row: T) => Node | string
  /** What the column sorts by; without it the column does not sort. */
  readonly sortBy?: (row: T) => number | string
}

interface SortState {
  column: number
  descending: boolean
}

const sortStates = new Map<string, SortState>()

export const sortableTable = <T>(
  id: string,
  columns: ReadonlyArray<Column<T>>,
  rows: ReadonlyArray<T>,
  initial: SortState
): HTMLElement => {
  const state = sortStates.get(id) ?? { ...initial }
  sortStates.set(id, state)
  const table = h("table", { class: "data", "data-table": id })
  const render = () => {
    const key = columns[state.column]?.sortBy
    const sorted =
      key === undefined
        ? [...rows]
        : [...rows].sort((a, b) => {
            const x = key(a)
            const y = key(b)
            const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))
            return state.descending ? -order : order
          })
    const head = h(
      "tr",
      {},
      ...columns.map((c, i) => {
        const sortable = c.sortBy !== undefined
        const sort = i === state.column ? (state.descending ? "descending" : "ascending") : "none"
        return h(
          "th",
          {
            scope: "col",
            "aria-sort": sortable ? sort : undefined,
            class: sortable ? "sortable" : undefined,
            onclick: sortable
              ? () => {
                  state.descending = i === state.column ? !state.descending : typeof c.sortBy!(rows[0]!) === "number"
                  state.column = i
                  render()
                }
              : undefined
          },
          c.title
        )
      })
    )
    const body = sorted.map((r) => h("tr", {}, ...columns.map((c) => h("td", {}, c.cell(r)))))
    table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...body))
  }
  render()
  return rows.length === 0 ? h("p", { class: "muted" }, "None in this time range.") : table
}
