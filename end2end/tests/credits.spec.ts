import type { Page } from "@playwright/test";
import { expect, test, createKey, signIn } from "./fixtures";

// Credits (issue 16): set when a key is made, spent by verification, shown in the table and on the
// key's page ("2 of 3 left, refills on the 1st"), refused at 0, and set anew on its page.

const hydrated = (page: Page) => expect(page.locator("html")).toHaveAttribute("data-hydrated", "");

test("a key's credits: set at creation, spent by verifications, shown, exhausted and set anew", async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await hydrated(page);
  const name = `Metered ${testInfo.project.name}`;
  const verifier = await createKey(page, `Verifier for ${name}`, "api_keys.verify");
  await page.reload();
  await hydrated(page);

  await page.getByRole("button", { name: "Create API Key" }).first().click();
  const dialog = page.getByRole("dialog", { name: "Create API Key" });
  await dialog.getByLabel("Name", { exact: true }).fill(name);
  const day = dialog.getByLabel("Day of the month");
  // The refill's fields open with a refill; the day only with a monthly one.
  await expect(dialog.getByLabel("Refill to")).toBeDisabled();
  await dialog.getByLabel("Refill", { exact: true }).selectOption({ label: "Daily" });
  await expect(day).toBeDisabled();
  await dialog.getByLabel("Refill", { exact: true }).selectOption({ label: "Monthly" });
  await expect(day).toBeEnabled();
  // Out of range: the browser itself holds the form back (the server's own refusals, naming each
  // field, are the Rust tests'), and no key is made.
  const credits = dialog.getByLabel("Credits", { exact: true });
  await credits.fill("-1");
  await day.fill("32");
  await dialog.getByRole("button", { name: "Create key" }).click();
  expect(await credits.evaluate((input: HTMLInputElement) => input.validity.rangeUnderflow)).toBe(true);
  expect(await day.evaluate((input: HTMLInputElement) => input.validity.rangeOverflow)).toBe(true);
  await expect(dialog).toBeVisible();
  await expect(page.getByRole("dialog", { name: "Save your API key" })).toBeHidden();

  await credits.fill("3");
  await dialog.getByLabel("Refill to").fill("3");
  await day.fill("1");
  await dialog.getByRole("button", { name: "Create key" }).click();
  const reveal = page.getByRole("dialog", { name: "Save your API key" });
  const token = (await reveal.getByLabel("API key").textContent()) ?? "";
  await reveal.getByRole("button", { name: "I have saved it" }).click();
  const row = page.getByRole("row", { name: new RegExp(`^${name} `) });
  await expect(row).toContainText("3 of 3 left, refills on the 1st");

  const verify = async (cost?: number) => {
    const answer = await page.request.post("/api/v1/keys/verify", {
      headers: { "X-API-Key": verifier.token },
      data: cost === undefined ? { key: token } : { key: token, cost },
    });
    expect(answer.status()).toBe(200);
    return answer.json();
  };
  expect((await verify()).credits.remaining).toBe(2);
  const spent = await verify(2);
  expect([spent.code, spent.credits.remaining]).toEqual(["VALID", 0]);
  const refused = await verify();
  expect([refused.valid, refused.code, refused.credits.remaining]).toEqual([false, "USAGE_EXCEEDED", 0]);
  expect(Date.parse(refused.credits.refills_at)).toBeGreaterThan(Date.now());

  await row.getByRole("link", { name }).click();
  await hydrated(page);
  const properties = page.locator(".properties");
  await expect(properties).toContainText("Credits0 of 3 left, refills on the 1st");

  // The verification log, written within a second or so: newest first, then filtered by verdict.
  const log = page.getByRole("table", { name: "Recent verifications" });
  await expect(async () => {
    await page.reload();
    await expect(log.getByRole("row")).toHaveCount(4, { timeout: 1_000 });
  }).toPass();
  await hydrated(page);
  await expect(log.getByRole("row").nth(1)).toContainText("USAGE_EXCEEDED");
  await expect(log.getByRole("row").nth(3)).toContainText("VALID");
  await page.getByLabel("Verdict").selectOption("VALID");
  await expect(page).toHaveURL(/outcome=VALID/);
  await expect(log.getByRole("row")).toHaveCount(3);
  await expect(log).not.toContainText("USAGE_EXCEEDED");
  await expect(page.getByRole("navigation", { name: "Verification pages" })).toContainText("Page 1 of 1 · 2 entries");
  await page.getByRole("button", { name: "Edit credits" }).click();
  const edit = page.getByRole("dialog", { name: "Edit credits" });
  await expect(edit.getByLabel("Credits", { exact: true })).toHaveValue("0");
  await expect(edit.getByLabel("Day of the month")).toHaveValue("1");
  await edit.getByLabel("Credits", { exact: true }).fill("1000");
  await edit.getByLabel("Refill", { exact: true }).selectOption({ label: "Never" });
  await edit.getByRole("button", { name: "Save credits" }).click();
  await expect(edit).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: `Credits of "${name}" saved.` })).toBeVisible();
  await expect(properties).toContainText("Credits1,000 left");
  expect((await verify()).code).toBe("VALID");

  // Blank: unlimited.
  await page.getByRole("button", { name: "Edit credits" }).click();
  await edit.getByLabel("Credits", { exact: true }).fill("");
  await edit.getByRole("button", { name: "Save credits" }).click();
  await expect(edit).toBeHidden();
  await expect(properties).toContainText("CreditsUnlimited");
  const unlimited = await verify();
  expect([unlimited.code, unlimited.credits]).toEqual(["VALID", undefined]);
});
