import { expect, test } from "@playwright/test";

// Run by `.ci/cluster test` against nginx in front of two Vigil instances,
// a primary and a streaming standby that console reads go to.
const ADMIN = process.env.CLUSTER_ADMIN ?? "admin@vigil.local";
const PASSWORD = process.env.CLUSTER_ADMIN_PASSWORD ?? "";

async function open(page: import("@playwright/test").Page, path: string) {
  await page.goto(path);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

test("an administrator signs in through the proxy, explores, and a new key is usable and listed at once", async ({ page, request }) => {
  await page.goto("/events");
  await page.getByLabel("E-mail").fill(ADMIN);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/events/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator("tbody tr").first()).toBeVisible();

  // Drill down and back several times: requests land on both instances.
  for (const path of ["/sessions", "/events?range=7d", "/compare", "/events?range=24h", "/sessions"]) {
    await open(page, path);
  }

  // A change and its read straight after: the list comes from the primary
  // until the replica has replayed the change (read-your-own-writes).
  const name = `cluster-${Date.now()}`;
  await open(page, "/settings/keys");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Kind").selectOption("ingest");
  await page.getByLabel("Environment(s)").fill("cluster");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = page.locator(".secret-value");
  await expect(secret).toHaveText(/^vigil_ingest_/);
  const key = (await secret.textContent())!;
  await expect(page.locator(`tr[data-key="${name}"]`)).toContainText("active");
  await open(page, "/settings/keys");
  await expect(page.locator(`tr[data-key="${name}"]`)).toContainText("active");
  const sent = await request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${key}` },
    data: [{ type: "cluster.check", environment: "cluster", actor: { id: "cluster-test" } }],
  });
  expect(sent.status()).toBe(200);
});
