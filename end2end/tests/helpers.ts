import { execFileSync } from "node:child_process";
import { APIRequestContext, Page, expect } from "@playwright/test";
import { EXPORT_KEY, INGEST_KEY } from "../playwright.config";

/** Open a page and wait until the browser has hydrated it. */
export async function open(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Send events through the real ingest API, and wait until the deriving
 * worker has counted them (sessions, chart and option lists follow it). */
export async function ingest(request: APIRequestContext, events: object[]) {
  const response = await request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${INGEST_KEY}` },
    data: events,
  });
  expect(response.status()).toBe(200);
  const reply = await response.json();
  expect(reply.rejected).toEqual([]);
  await derived(request);
  return reply;
}

/** Wait until the health endpoint reports nothing left to derive. */
export async function derived(request: APIRequestContext) {
  await expect(async () => {
    const health = await request.get("/api/v1/health", { headers: { Authorization: `Bearer ${EXPORT_KEY}` } });
    expect(health.status()).toBe(200);
    expect((await health.json()).ledger.underived_events).toBe(0);
  }).toPass({ intervals: [100, 200, 500], timeout: 20_000 });
}

/** A unique word for this test run, to find our own rows. */
export function marker(prefix: string) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** The administrator the setup project signs in (every test starts signed in as them). */
export const ADMIN = "admin@e2e.example";
/** Password of every console user the tests create. */
export const PASSWORD = "e2e password 1234";

/** Create (or reset) a console user with the real CLI, e.g. addUser(email, ["--role", "viewer", "--env", "prod", "--org", "*"]). */
export function addUser(email: string, args: string[]) {
  execFileSync("../target/debug/vigil", ["user", "add", email, "--password-stdin", "--reset", ...args], {
    input: `${PASSWORD}\n`,
    env: { ...process.env, DATABASE_URL: process.env.E2E_DATABASE_URL ?? process.env.DATABASE_URL ?? "" },
    stdio: ["pipe", "pipe", "inherit"],
  });
}

/** Fill and send the sign-in form on the current (sign-in) page. */
export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}
