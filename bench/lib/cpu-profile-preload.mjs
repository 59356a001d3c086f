// Preloaded into a server child (NODE_OPTIONS=--import <this file>) when BENCH_PROFILE=1:
// Node 20 refuses --cpu-prof in NODE_OPTIONS, so the V8 profiler is driven through
// node:inspector and the profile is written to $BENCH_PROFILE_DIR as the process exits.
import fs from "node:fs";
import path from "node:path";
import { Session } from "node:inspector";

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  session.post("Profiler.start");
  let written = false;
  process.on("exit", () => {
    if (written) return;
    written = true;
    // the in-process session answers synchronously, so this works inside "exit"
    session.post("Profiler.stop", (err, res) => {
      if (err || !res) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
