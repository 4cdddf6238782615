import type { Page } from "@playwright/test";
import { expect, test, createKey, signIn } from "./fixtures";

// A key's IP allowlist (issue 16): edited on its page, each bad entry named, held by verification.
// (Runs after keys.spec.ts, which sets the instance up.)

const hydrated = (page: Page) => expect(page.locator("html")).toHaveAttribute("data-hydrated", "");

test("a key's IP allowlist: bad entries named, saved, held by verification, and cleared", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const key = await createKey(page, "Office only", "api_keys.read");
  const verifier = await createKey(page, "Verifier for the office", "api_keys.verify");
  const verify = async (ip?: string) => {
    const answer = await page.request.post("/api/v1/keys/verify", {
      headers: { "X-API-Key": verifier.token },
      data: ip === undefined ? { key: key.token } : { key: key.token, ip },
    });
    expect(answer.status()).toBe(200);
    return (await answer.json()).code;
  };

  await page.goto(`/keys/${key.key.id}`);
  await hydrated(page);
  const properties = page.locator(".properties");
  await expect(properties).toContainText("IP allowlistAny address");
  await page.getByRole("button", { name: "Edit IP allowlist" }).click();
  const dialog = page.getByRole("dialog", { name: "Edit IP allowlist" });
  const list = dialog.getByLabel("Addresses and CIDRs");
  await list.fill("10.0.0.0/8\n10.0.0.300");
  await dialog.getByRole("button", { name: "Save IP allowlist" }).click();
  await expect(list).toHaveAttribute("aria-invalid", "true");
  await expect(list).toHaveAccessibleDescription(/entry 2 \("10\.0\.0\.300"\), which is not an IPv4 or IPv6 address or CIDR/);
  expect(await verify()).toBe("VALID");

  await list.fill("10.1.2.3/8\n2001:db8::/32");
  await dialog.getByRole("button", { name: "Save IP allowlist" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: 'IP allowlist of "Office only" saved.' })).toBeVisible();
  await expect(properties.locator(".networks li")).toHaveText(["10.0.0.0/8", "2001:db8::/32"]);
  expect(await verify("10.20.30.40")).toBe("VALID");
  expect(await verify("192.0.2.1")).toBe("IP_NOT_ALLOWED");
  expect(await verify()).toBe("IP_NOT_ALLOWED");

  await page.getByRole("button", { name: "Edit IP allowlist" }).click();
  await expect(list).toHaveValue("10.0.0.0/8\n2001:db8::/32");
  await list.fill("");
  await dialog.getByRole("button", { name: "Save IP allowlist" }).click();
  await expect(dialog).toBeHidden();
  await expect(properties).toContainText("IP allowlistAny address");
  expect(await verify()).toBe("VALID");
});
