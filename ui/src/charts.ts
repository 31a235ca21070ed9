// Time-series charts with uPlot: one canvas per chart, minutes on the x axis, a gap where a minute had no data.
// The legend is the page's own: each series' figure for the whole range, or its value at the minute under the
// pointer (uPlot's own legend shows "--" until the pointer is on the chart).
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import { h } from "./dom.ts"
import { fmtClock } from "./format.ts"
import { hook } from "./hook.ts"

export interface ChartSeries {
  readonly label: string
  readonly color: string
  readonly values: ReadonlyArray<number | null>
  /** The series' figure for the whole range, shown in the legend while the pointer is off the chart. */
  readonly rangeValue: string
}

export interface ChartOptions {
  /** How a value reads (with its unit). */
  readonly format: (v: number) => string
  /** A fixed y axis, e.g. [0, 100] for a percentage; otherwise from zero to the largest value. */
  readonly yRange?: readonly [number, number]
}

export const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed"] as const

const CHART_HEIGHT = 180

/** Appends a titled chart to `parent`; `times` are epoch ms, one per minute. */
export const lineChart = (
  parent: HTMLElement,
  title: string,
  times: ReadonlyArray<number>,
  series: ReadonlyArray<ChartSeries>,
  options: ChartOptions
) => {
  const when = h("span", { class: "legend-when" }, "range")
  const valueCells = series.map((s) => h("span", { class: "legend-value" }, s.rangeValue))
  const legend = h(
    "div",
    { class: "chart-legend", "aria-live": "off" },
    when,
    ...series.map((s, i) =>
      h("span", { class: "legend-item" }, h("span", { class: "swatch", style: `background:${s.color}` }), `${s.label} `, valueCells[i]!)
    )
  )
  const figure = h("figure", { class: "chart", "data-title": title }, h("figcaption", {}, title))
  parent.append(figure)
  const width = Math.max(280, figure.clientWidth - 16)
  const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => [...s.values])]
  const showAt = (idx: number | null | undefined) => {
    const at = idx === null || idx === undefined ? undefined : idx
    when.textContent = at === undefined ? "range" : fmtClock(times[at]!)
    series.forEach((s, i) => {
      const v = at === undefined ? undefined : s.values[at]
      valueCells[i]!.textContent = at === undefined ? s.rangeValue : v === null || v === undefined ? "—" : options.format(v)
    })
  }
  new uPlot(
    {
      width,
      height: CHART_HEIGHT,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false, points: { size: 4 } }))],
      axes: [{}, { size: 64, values: (_u: uPlot, ticks: Array<number>) => ticks.map(options.format) }],
      // Latency, rates and bytes start at zero: a flat line at 20 ms must not look like a cliff.
      scales: {
        y: { range: (_u: uPlot, _min: number, max: number) => (options.yRange ? [...options.yRange] : [0, max > 0 ? max * 1.1 : 1]) }
      },
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      hooks: { setCursor: [(u: uPlot) => showAt(u.cursor.idx)] }
    },
    data,
    figure
  )
  figure.append(legend)
  hook.charts.push({
    title,
    series: series.map((s) => ({
      label: s.label,
      points: s.values.filter((v) => v !== null).length,
      values: s.values,
      rangeValue: s.rangeValue
    }))
  })
}
