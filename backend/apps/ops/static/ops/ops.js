// The operations page: live figures from the `ops` stream through Syncline's own client.
import { SynclineClient } from "/ops/client/index.js";

const root = document.getElementById("ops");
const csrf = root.dataset.csrf;
let access = root.dataset.access;
let chosen = null;

const $ = (id) => document.getElementById(id);
const cell = (text) => {
  const td = document.createElement("td");
  td.textContent = String(text);
  return td;
};
const row = (...cells) => {
  const tr = document.createElement("tr");
  for (const c of cells) tr.append(c instanceof Node ? c : cell(c));
  return tr;
};

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body ?? {}),
    credentials: "same-origin",
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

function render(snapshot) {
  $("ops-backlog").textContent = String(snapshot.outbox_backlog);
  $("ops-routes").replaceChildren(...Object.entries(snapshot.connections).map(([route, n]) => row(route, n)));
  $("ops-processes").replaceChildren(
    ...snapshot.processes.map((p) =>
      row(p.process, Object.values(p.connections).reduce((a, b) => a + b, 0), p.streams),
    ),
  );
  $("ops-streams").replaceChildren(
    ...snapshot.streams.map((s) => {
      const show = document.createElement("button");
      show.type = "button";
      show.textContent = "last events";
      show.addEventListener("click", () => choose(s.stream));
      return row(s.stream, s.subscribers, s.presence ?? "–", show);
    }),
  );
  if (chosen !== null) void loadEvents(chosen);
}

async function loadEvents(stream) {
  const response = await fetch(`/api/ops/events/?stream=${encodeURIComponent(stream)}`, { credentials: "same-origin" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    $("ops-events-error").textContent = (body.stream ?? [body.detail ?? `HTTP ${response.status}`]).join(" ");
    return;
  }
  $("ops-events-error").textContent = "";
  $("ops-chosen").textContent = body.stream;
  $("ops-events").replaceChildren(
    ...body.events.reverse().map((e) => row(e.id, e.type, e.action ?? "", e.updated_by ?? "")),
  );
}

function choose(stream) {
  chosen = stream;
  $("ops-stream").value = stream;
  void loadEvents(stream);
}

$("ops-events-form").addEventListener("submit", (event) => {
  event.preventDefault();
  choose($("ops-stream").value.trim());
});

$("ops-disconnect-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const user = Number($("ops-user").value);
  const { status, body } = await post("/api/ops/disconnect/", { user });
  $("ops-disconnect-result").textContent =
    status === 202 ? `user ${user}: ${body.detail}` : `refused (${status}): ${JSON.stringify(body)}`;
});

const client = new SynclineClient({
  getAccessToken: () => access,
  refreshAccessToken: async () => {
    const { status, body } = await post("/api/ops/token/");
    access = status === 200 ? body.access : null;
    return access;
  },
});
client.on("status", (status) => {
  $("ops-status").textContent = status;
});
client.subscribe("ops", { onEvent: (event) => render(event.data) });
client.connect();
