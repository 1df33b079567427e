import { defineConfig } from "@playwright/test";

// The server under test: the debug build on a port of its own and a database
// of its own (E2E_DATABASE_URL, recreated by `make test`).
const port = Number(process.env.E2E_PORT ?? 3100);
export const INGEST_KEY = "e2e-ingest-key";
export const EXPORT_KEY = "e2e-export-key";
/** Where the setup project keeps the signed-in administrator's cookies. */
export const ADMIN_STATE = "test-results/.auth/admin.json";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    // Creates the console users and signs the administrator in once.
    { name: "setup", testMatch: /auth\.setup\.ts/ },
    { name: "console", dependencies: ["setup"], use: { storageState: ADMIN_STATE } },
  ],
  webServer: {
    command: "target/debug/vigil serve",
    cwd: "..",
    url: `http://127.0.0.1:${port}/events`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? process.env.DATABASE_URL ?? "",
      VIGIL_INGEST_KEY: INGEST_KEY,
      VIGIL_EXPORT_KEY: EXPORT_KEY,
      VIGIL_SECRET: "e2e-secret-e2e-secret-e2e-secret-e2e",
      ...(process.env.VIGIL_GEOIP_DB ? { VIGIL_GEOIP_DB: process.env.VIGIL_GEOIP_DB } : {}),
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_OUTPUT_NAME: "vigil",
      RUST_LOG: "warn,vigil=info",
      VIGIL_SIGN_IN_IP_BURST: "200",
      // The checkpoint log belongs to this run's database (.ci/test removes it).
      VIGIL_SEAL_KEY: ".vigil/e2e-seal.key",
      VIGIL_CHECKPOINT_LOG: ".vigil/e2e-checkpoints.jsonl",
    },
  },
});
