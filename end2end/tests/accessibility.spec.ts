import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { expect, test, createKey, signIn } from "./fixtures";

// axe-core over every page and dialog, with every rule it runs by default (WCAG 2.x A and AA, and
// its best practices), at a laptop's size and a phone's (the two projects that run this file).

async function violations(page: Page, what: string) {
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${what}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  return found;
}

test("no page or dialog has an accessibility violation", async ({ page }) => {
  const found: string[] = [];

  await page.goto("/sign-in");
  found.push(...(await violations(page, "sign-in")));

  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const key = await createKey(page, "Accessibility check", "api_keys.read");
  for (const path of ["/keys", `/keys/${key.key.id}`, "/projects", "/members", "/audit", "/settings", "/account"]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    found.push(...(await violations(page, path)));
  }

  await page.goto("/keys");
  await page.getByRole("button", { name: "Create API Key" }).first().click();
  const create = page.getByRole("dialog", { name: "Create API Key" });
  await expect(create).toBeVisible();
  found.push(...(await violations(page, "create dialog")));
  // Refused, with each field's message under it.
  await create.getByLabel("Name", { exact: true }).fill("   ");
  await create.getByLabel("Custom scopes for your API").fill("Not A Scope");
  await create.getByRole("button", { name: "Create key" }).click();
  await expect(create.getByRole("alert")).toHaveText("Fix the 2 fields marked above.");
  found.push(...(await violations(page, "create dialog, refused")));
  await create.getByLabel("Custom scopes for your API").fill("");
  await create.getByLabel("Name", { exact: true }).fill("Accessibility token");
  await create.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByRole("dialog", { name: "Save your API key" })).toBeVisible();
  found.push(...(await violations(page, "token dialog")));

  expect(found).toEqual([]);
});
