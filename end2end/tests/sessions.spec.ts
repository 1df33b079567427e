import { test, expect } from "@playwright/test";
import { ingest, marker, open } from "./helpers";

const tag = marker("s");
const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const env = `sess-${tag}`;
const event = (session: string, type: string, m: number, ip: string, ua: string, who = `Dana ${tag}`) => ({
  type, occurred_at: minutesAgo(m), environment: env, organization: { id: `org-${tag}`, name: `Org ${tag}` },
  actor: { id: `dana-${tag}`, name: who, email: `dana-${tag}@example.com`, role: "admin", session_id: `${session}-${tag}` },
  client: { ip, user_agent: ua, machine_id: "mach-7" }, target: { type: "app", id: "insight", name: "Insight" },
});

test.beforeAll(async ({ request }) => {
  await ingest(request, [event("london", "session.sign_in", 200, "81.2.69.160", chrome)]);
  await ingest(request, [event("london", "session.sign_out", 190, "81.2.69.160", chrome)]);
  await ingest(request, [event("tokyo", "session.sign_in", 20, "126.0.1.1", chrome)]);
  await ingest(request, [event("tokyo", "app.view", 10, "126.0.1.1", chrome)]);
  await ingest(request, [event("phone", "session.sign_in", 5, "126.0.1.1", iphone)]);
});

test("the sessions page lists active sessions with device, location and flags", async ({ page }) => {
  await open(page, `/sessions?env=${env}`);
  const rows = page.locator("tbody tr");
  await expect(rows).toHaveCount(2);
  const tokyo = page.locator(`tr[data-session-id="tokyo-${tag}"]`);
  await expect(tokyo).toContainText(`Dana ${tag}`);
  await expect(tokyo).toContainText("Chrome");
  await expect(tokyo).toContainText("Windows");
  await expect(tokyo).toContainText("Tokyo");
  await expect(tokyo).toContainText("Japan");
  await expect(tokyo).toContainText("New country");
  await expect(tokyo).toContainText("Impossible travel");
  await expect(page.locator(`tr[data-session-id="phone-${tag}"]`)).toContainText("New device");
});

test("session filters live in the URL: country, device, flag and ended sessions", async ({ page }) => {
  await open(page, `/sessions?env=${env}`);
  await page.locator('select[name="device"]').selectOption("mobile");
  await expect(page).toHaveURL(/device=mobile/);
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.locator("tbody tr")).toContainText("Mobile Safari");

  // Each choice is a navigation: wait for it before the next one.
  await page.locator('select[name="device"]').selectOption("");
  await expect(page).not.toHaveURL(/device=/);
  await page.locator('select[name="flag"]').selectOption("new_country");
  await expect(page).toHaveURL(/flag=new_country/);
  await expect(page.locator("tbody tr")).toHaveCount(1);

  await page.locator('select[name="flag"]').selectOption("");
  await expect(page).not.toHaveURL(/flag=/);
  await page.getByLabel("Include sessions ended in the last 7 days").check();
  await expect(page).toHaveURL(/status=all/);
  await expect(page.locator("tbody tr")).toHaveCount(3);
  await page.locator('select[name="country"]').selectOption("GB");
  await expect(page).toHaveURL(/country=GB/);
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.locator("tbody tr")).toContainText("signed out");
  await page.goBack();
  await expect(page.locator("tbody tr")).toHaveCount(3);
});

test("a session page shows its device, location and timeline, linking to events", async ({ page }) => {
  await open(page, `/sessions?env=${env}`);
  await page.locator(`tr[data-session-id="tokyo-${tag}"]`).getByRole("link", { name: `Dana ${tag}` }).click();
  await expect(page).toHaveURL(new RegExp(`/sessions/tokyo-${tag}`));
  await expect(page.getByRole("heading", { name: "Device" })).toBeVisible();
  await expect(page.locator(".facts", { hasText: "Location" })).toContainText("Tokyo");
  // Start and last seen as every time is shown: relative, and absolute in the reader's zone.
  await expect(page.locator(".session-facts time .relative").first()).toBeVisible();
  expect(await page.locator(".session-facts time").count()).toBeGreaterThanOrEqual(2);
  const timeline = page.locator(".session-timeline li");
  await expect(timeline).toHaveCount(2);
  await expect(timeline.nth(0)).toContainText("session.sign_in");
  await timeline.nth(1).getByRole("link", { name: "app.view" }).click();
  await expect(page).toHaveURL(/\/events\//);
  await expect(page.locator(".facts", { hasText: "Where" })).toContainText("Tokyo");
  await expect(page.locator(".facts", { hasText: "Where" })).toContainText("Chrome 131 on Windows 10 (desktop)");
  await expect(page.locator(".facts", { hasText: "When" }).locator("time")).toHaveCount(2);
});

test("the sessions list pages through every session: older, back, newest", async ({ page, request }) => {
  const many = `sesspage-${tag}`;
  await ingest(request, Array.from({ length: 105 }, (_, i) => ({
    type: "session.sign_in", occurred_at: minutesAgo(i + 1), environment: many,
    actor: { id: `u${i}-${tag}`, session_id: `p${String(i).padStart(3, "0")}-${tag}` },
  })));
  await open(page, `/sessions?env=${many}&status=all`);
  const rows = page.locator("tbody tr");
  await expect(rows).toHaveCount(100);
  await expect(page.locator(".summary")).toContainText("most recently seen first, 100 per page");
  await expect(rows.first()).toHaveAttribute("data-session-id", `p000-${tag}`);
  await page.getByRole("link", { name: "Older sessions →" }).click();
  await expect(page).toHaveURL(/before=/);
  await expect(rows).toHaveCount(5);
  await expect(rows.first()).toHaveAttribute("data-session-id", `p100-${tag}`);
  await expect(page.locator(".pager")).toContainText("End of sessions");
  await page.goBack();
  await expect(rows).toHaveCount(100);
  await page.goForward();
  await expect(rows).toHaveCount(5);
  await page.getByRole("link", { name: "← Newest" }).click();
  await expect(page).not.toHaveURL(/before=/);
  await expect(rows.first()).toHaveAttribute("data-session-id", `p000-${tag}`);
});
