// Time-series charts with uPlot: one canvas per chart, minutes on the x axis, a gap where a minute had no calls.
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import { h } from "./dom.ts"
import { hook } from "./hook.ts"

export interface ChartSeries {
  readonly label: string
  readonly color: string
  readonly values: ReadonlyArray<number | null>
}

export const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed"] as const

const CHART_HEIGHT = 180

/** Appends a titled chart to `parent`; `times` are epoch ms, one per minute; `yRange` fixes the y axis (a percentage). */
export const lineChart = (
  parent: HTMLElement,
  title: string,
  times: ReadonlyArray<number>,
  series: ReadonlyArray<ChartSeries>,
  yRange?: readonly [number, number]
) => {
  const figure = h("figure", { class: "chart", "data-title": title }, h("figcaption", {}, title))
  parent.append(figure)
  const width = Math.max(280, figure.clientWidth - 16)
  const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => [...s.values])]
  new uPlot({
    width,
    height: CHART_HEIGHT,
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false, points: { size: 4 } }))],
    axes: [{}, { size: 56 }],
    ...(yRange ? { scales: { y: { range: [...yRange] } } } : {}),
    legend: { show: series.length > 1 },
    cursor: { drag: { x: false, y: false } }
  }, data, figure)
  hook.charts.push({ title, series: series.map((s) => ({ label: s.label, points: s.values.filter((v) => v !== null).length })) })
}
