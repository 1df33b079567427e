import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// `make cluster-test`: the console through nginx in front of two instances
// (CLUSTER_URL), started by `.ci/cluster test`; no server of its own.
export default defineConfig({
  ...base,
  testDir: "./cluster",
  webServer: undefined,
  projects: [{ name: "cluster" }],
  use: { ...base.use, baseURL: process.env.CLUSTER_URL ?? "http://127.0.0.1:3000" },
});
