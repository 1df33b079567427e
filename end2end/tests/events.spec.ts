import { test, expect } from "@playwright/test";
import { ingest, marker, open } from "./helpers";

test("the events page loads and hydrates", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

  await open(page, "/events");

  await expect(page).toHaveTitle(/Events · Vigil/);
  await expect(page.getByRole("heading", { name: "Events", exact: true })).toBeVisible();
  expect(errors).toEqual([]);
});

test("events sent through the API appear in the table", async ({ page, request }) => {
  const who = marker("Tester");
  await ingest(request, [
    {
      type: "role.permission_add",
      environment: "production",
      actor: { id: "u-e2e", name: who, email: "tester@example.com" },
      target: { type: "role", id: "role_support", name: "Support" },
      app: { id: "insight", name: "Insight" },
      client: { ip: "81.2.69.160" },
    },
  ]);

  await open(page, "/events");

  const row = page.locator("tbody tr", { hasText: who });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("role.permission_add");
  await expect(row).toContainText("role: Support");
  await expect(row).toContainText("Insight");
  await expect(row).toContainText("81.2.69.160");
  await expect(row.locator("td.ip .country")).toHaveText("GB");
  await expect(row.locator("time")).toHaveAttribute("title", /UTC$/);
  await expect(row.locator("time .relative")).toHaveText(/just now|minute/);
});

test("user-supplied text renders as text, never as HTML", async ({ page, request }) => {
  const name = `<img src=x onerror="window.__pwned=1">${marker("x")}`;
  await ingest(request, [{ type: "app.view", actor: { name } }]);

  await open(page, "/events");

  await expect(page.locator("tbody td.actor", { hasText: name })).toHaveCount(1);
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
});

test("paging walks to older events and the back button returns", async ({ page, request }) => {
  const tag = marker("pager");
  const now = Date.now();
  const events = Array.from({ length: 60 }, (_, i) => ({
    id: `${tag}-${String(i).padStart(2, "0")}`,
    occurred_at: new Date(now + 60_000 - i * 1000).toISOString(),
    type: "app.view",
    actor: { name: `${tag}-${String(i).padStart(2, "0")}` },
  }));
  await ingest(request, events);

  await open(page, `/events?q=${tag}`);
  await expect(page.locator("tbody tr")).toHaveCount(50);
  await expect(page.locator("tbody tr").first()).toContainText(`${tag}-00`);
  await expect(page.locator("tbody tr", { hasText: `${tag}-50` })).toHaveCount(0);

  await page.getByRole("link", { name: "Older events →" }).click();
  await expect(page).toHaveURL(/before=/);
  await expect(page.locator("tbody tr").first()).toContainText(`${tag}-50`);
  await expect(page.locator("tbody tr", { hasText: `${tag}-49` })).toHaveCount(0);

  await page.goBack();
  await expect(page).not.toHaveURL(/before=/);
  await expect(page.locator("tbody tr").first()).toContainText(`${tag}-00`);
});

test("an unknown page says so", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});
