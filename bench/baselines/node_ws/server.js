// Node.js broadcast server on the `ws` package: the benchmark's strongest ceiling (`node-ws`).
// The same wire as bench/baselines/bare_app.py, in one process:
//   GET /healthz                 200 ok
//   WebSocket /ws/<group>        every body published to <group>, as a text frame
//   GET /sse/<group>             the same as Server-Sent Events (data: <body>)
//   POST /publish/<group>        sends the body to every socket of the group; 202 {"queued": n}
// Run: node server.js <port>   (after `npm ci` in this directory)
"use strict";

const http = require("http");
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2] || 8001);
const groups = new Map(); // group -> Set of {ws} or {sse}

function groupOf(path) {
  const parts = path.split("?")[0].replace(/\/+$/, "").split("/");
  return parts[parts.length - 1];
}

function members(group) {
  let set = groups.get(group);
  if (!set) {
    set = new Set();
    groups.set(group, set);
  }
  return set;
}

function leave(group, member) {
  const set = groups.get(group);
  if (set) {
    set.delete(member);
    if (set.size === 0) groups.delete(group);
  }
}

function publish(group, body) {
  const set = groups.get(group);
  if (!set) return 0;
  const text = body.toString();
  const sse = "data: " + text + "\n\n";
  for (const member of set) {
    if (member.ws) member.ws.send(text);
    else member.res.write(sse);
  }
  return set.size;
}

const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  if (path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  } else if (req.method === "POST" && path.startsWith("/publish/")) {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const queued = publish(groupOf(path), Buffer.concat(chunks));
      res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ queued }));
    });
  } else if (path.startsWith("/sse/")) {
    const group = groupOf(path);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" });
    res.write(": open\n\n");
    const member = { res };
    members(group).add(member);
    req.on("close", () => leave(group, member));
  } else {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  }
});

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on("upgrade", (req, socket, head) => {
  if (!req.url.startsWith("/ws/")) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const group = groupOf(req.url);
    const member = { ws };
    members(group).add(member);
    ws.on("close", () => leave(group, member));
    ws.on("error", () => leave(group, member));
  });
});

server.listen(port, "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
