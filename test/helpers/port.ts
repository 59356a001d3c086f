import net from "node:net";

/**
 * A loopback TCP port that was free a moment ago (bound to port 0, then released): for a process the test
 * starts and that takes its port as an argument. Another process may take it meanwhile; callers that can
 * tell (their process exits at once) try another.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
