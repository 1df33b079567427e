import { test as setup, expect } from "@playwright/test";
import { ADMIN_STATE } from "../playwright.config";
import { ADMIN, addUser, signIn } from "./helpers";

setup("create the administrator and sign in", async ({ page }) => {
  addUser(ADMIN, ["--admin"]);
  await page.goto("/events");
  await expect(page).toHaveURL(/\/login\?next=%2Fevents/);
  await signIn(page, ADMIN);
  await expect(page).toHaveURL(/\/events$/);
  await page.context().storageState({ path: ADMIN_STATE });
});
