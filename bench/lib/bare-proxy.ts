import http from "node:http";

/**
 * The least a Node reverse proxy can be, the baseline both proxy benches measure one Node HTTP hop against:
 * `http.request` with a keep-alive agent, bodies piped, headers passed as they came, no routing.
 */
export function bareProxy(upstreamPort: number): { readonly server: http.Server; readonly agent: http.Agent } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(upstream);
  });
  return { server, agent };
}
