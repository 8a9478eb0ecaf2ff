import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // Tests run against the packages' sources, so `npm test` needs no build first.
  resolve: {
    alias: {
      "@syncline/client": source("./packages/client/src/index.ts"),
    },
  },
  test: {
    include: ["packages/*/test/**/*.test.{ts,tsx}", "demo/test/**/*.test.{ts,tsx}"],
    environment: "node",
  },
});
