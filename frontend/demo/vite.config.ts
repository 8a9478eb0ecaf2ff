import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig } from "vite";

// Where `npm run dev` and `npm run preview` forward /api and /ws: a backend started with `make run`.
const backend = process.env.SYNCLINE_BACKEND_URL ?? "http://127.0.0.1:8000";
const proxy = {
  "/api": backend,
  "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
};

// Django serves the built app at /app/ on the same origin as the API and the sockets.
export default defineConfig({
  base: "/app/",
  plugins: [react()],
  // Bundle the workspace packages from their sources: no package build needed first, and
  // `npm run dev` reloads on changes to them too.
  resolve: { conditions: ["source", ...defaultClientConditions] },
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy },
  preview: { proxy },
});
