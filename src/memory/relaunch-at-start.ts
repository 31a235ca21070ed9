// Imported first by src/main.ts, for its side effect only: see ./heap-relaunch.ts. Kept apart so that importing
// the decision (tests, tools) never restarts the importing process.
import { relaunchWithHeapLimit } from "./heap-relaunch.ts"

relaunchWithHeapLimit()
