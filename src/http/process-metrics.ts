// The standard process and Node.js metrics (the names prom-client's default collectors use, which common Node
// dashboards query), read at scrape time from Node's own APIs: a handful of numbers does not need a library.
import { readdirSync } from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import process from "node:process"
import v8 from "node:v8"

const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime())

const eventLoopDelay = monitorEventLoopDelay({ resolution: 20 })
eventLoopDelay.enable()

const openFds = (): number | undefined => {
  try {
    return readdirSync("/proc/self/fd").length
  } catch {
    return undefined
  }
}

const metric = (name: string, type: "counter" | "gauge", help: string, value: number | undefined, labels = "") =>
  value === undefined ? "" : `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}${labels} ${value}\n`

/** Prometheus text for the process metrics, as of now. */
export const processMetricsText = (): string => {
  const cpu = process.cpuUsage()
  const mem = process.memoryUsage()
  const heap = v8.getHeapStatistics()
  return [
    metric("process_cpu_user_seconds_total", "counter", "User CPU time spent in seconds.", cpu.user / 1e6),
    metric("process_cpu_system_seconds_total", "counter", "System CPU time spent in seconds.", cpu.system / 1e6),
    metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", (cpu.user + cpu.system) / 1e6),
    metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", startTimeSeconds),
    metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", mem.rss),
    metric("process_open_fds", "gauge", "Number of open file descriptors.", openFds()),
    metric("nodejs_heap_size_total_bytes", "gauge", "Process heap size from Node.js in bytes.", mem.heapTotal),
    metric("nodejs_heap_size_used_bytes", "gauge", "Process heap size used from Node.js in bytes.", mem.heapUsed),
    metric("nodejs_external_memory_bytes", "gauge", "Node.js external memory size in bytes.", mem.external),
    metric("nodejs_heap_size_limit_bytes", "gauge", "The V8 heap size limit in bytes.", heap.heap_size_limit),
    metric(
      "nodejs_eventloop_lag_p99_seconds",
      "gauge",
      "The 99th percentile of the event loop delay since start.",
      eventLoopDelay.percentile(99) / 1e9
    ),
    metric("nodejs_eventloop_lag_max_seconds", "gauge", "The longest event loop delay since start.", eventLoopDelay.max / 1e9),
    metric("nodejs_version_info", "gauge", "Node.js version info.", 1, `{version="${process.version}"}`)
  ].join("")
}
