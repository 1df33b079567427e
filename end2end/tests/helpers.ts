import { APIRequestContext, Page, expect } from "@playwright/test";
import { INGEST_KEY } from "../playwright.config";

/** Open a page and wait until the browser has hydrated it. */
export async function open(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Send events through the real ingest API. */
export async function ingest(request: APIRequestContext, events: object[]) {
  const response = await request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${INGEST_KEY}` },
    data: events,
  });
  expect(response.status()).toBe(200);
  const reply = await response.json();
  expect(reply.rejected).toEqual([]);
  return reply;
}

/** A unique word for this test run, to find our own rows. */
export function marker(prefix: string) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
