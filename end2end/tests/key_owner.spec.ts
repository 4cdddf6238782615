import type { Page } from "@playwright/test";
import { expect, test, createKey, sameOrigin, signIn } from "./fixtures";

// Who a key is for (issue 16): its external ID and metadata, edited on its page, answered by
// verification, and the keys list filtered by the external ID.

const hydrated = (page: Page) => expect(page.locator("html")).toHaveAttribute("data-hydrated", "");

test("a key's external ID and metadata: edited on its page, answered by verification, and its customer's keys listed", async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const customer = `cus_e2e_${testInfo.project.name}`;
  const key = await createKey(page, `For ${customer}`, "api_keys.read");
  const verifier = await createKey(page, `Verifier for ${customer}`, "api_keys.verify");

  await page.goto(`/keys/${key.key.id}`);
  await hydrated(page);
  const properties = page.locator(".properties");
  await expect(properties).toContainText("External IDNone");
  await page.getByRole("button", { name: "Edit details" }).click();
  const details = page.getByRole("dialog", { name: "Edit details" });
  const externalId = details.getByLabel("External ID (optional)");
  const meta = details.getByLabel("Metadata (optional)");

  // A bad one of each is refused, both at once, each under its field; nothing changes.
  await externalId.fill("cus\u202eevil");
  await meta.fill("[1, 2]");
  await details.getByRole("button", { name: "Save" }).click();
  await expect(details.getByRole("alert")).toHaveText("Fix the 2 fields marked above.");
  await expect(meta).toHaveAttribute("aria-invalid", "true");
  await expect(meta).toHaveAccessibleDescription(/Meta must be a JSON object/);
  await expect(externalId).toHaveAttribute("aria-invalid", "true");

  await externalId.fill(customer);
  await meta.fill('{"plan": "pro", "seats": 3}');
  await details.getByRole("button", { name: "Save" }).click();
  await expect(details).toBeHidden();
  await expect(properties).toContainText(customer);
  await expect(properties.locator("pre.meta")).toHaveText('{"plan": "pro", "seats": 3}');

  // The calling service learns whose key it is, with no second lookup.
  const answer = await page.request.post("/api/v1/keys/verify", {
    headers: { "X-API-Key": verifier.token },
    data: { key: key.token },
  });
  expect(answer.status()).toBe(200);
  const verdict = await answer.json();
  expect([verdict.code, verdict.external_id, verdict.meta]).toEqual(["VALID", customer, { plan: "pro", seats: 3 }]);

  // Its customer's keys, as a filter the URL holds and the toolbar keeps.
  await page.getByRole("link", { name: "All its keys" }).click();
  await expect(page).toHaveURL(new RegExp(`external_id=${customer}`));
  await hydrated(page);
  await expect(page.locator(".filter-chip")).toContainText(customer);
  await expect(page.getByRole("link", { name: `For ${customer}` })).toBeVisible();
  await expect(page.getByRole("link", { name: `Verifier for ${customer}` })).toHaveCount(0);
  if (testInfo.project.name === "1280") {
    // A column to turn on, whose id links to the same list.
    await page.locator(".column-picker summary").click();
    await page.getByLabel("External ID", { exact: true }).check();
    await expect(page.getByRole("columnheader", { name: "External ID" })).toBeVisible();
    await expect(page.getByRole("link", { name: customer, exact: true })).toHaveAttribute("href", `/keys?external_id=${customer}`);
  }
  await page.getByLabel("Hide revoked").check();
  await expect(page).toHaveURL(/hide_revoked=1/);
  await expect(page).toHaveURL(new RegExp(`external_id=${customer}`));
  await page.getByRole("link", { name: "Show the keys of every external ID" }).click();
  await expect(page).not.toHaveURL(/external_id=/);
  await expect(page.getByRole("link", { name: `Verifier for ${customer}` })).toBeVisible();

  // Cleared on its page: verification answers without them.
  await page.goto(`/keys/${key.key.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Edit details" }).click();
  await details.getByLabel("External ID (optional)").fill("");
  await details.getByLabel("Metadata (optional)").fill("");
  await details.getByRole("button", { name: "Save" }).click();
  await expect(details).toBeHidden();
  await expect(properties).toContainText("External IDNone");
  const after = await (await page.request.post("/api/v1/keys/verify", {
    headers: { "X-API-Key": verifier.token, ...sameOrigin(page) },
    data: { key: key.token },
  })).json();
  expect([after.external_id, after.meta]).toEqual([undefined, undefined]);
});
