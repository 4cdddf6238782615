import { expect, test, signIn } from "./fixtures";

// Reloading a page just after signing in must give that page its own policy (the nonce its inline
// scripts carry) every time: with the strict fallback one, nothing inline runs and the page never
// hydrates, silently.
test("the keys page, reloaded again and again after signing in, hydrates under its own policy", async ({ page }) => {
  for (let round = 1; round <= 4; round++) {
    await page.context().clearCookies();
    await signIn(page);
    await expect(page).toHaveURL(/\/keys/);
    for (let load = 1; load <= 5; load++) {
      const response = await page.reload();
      const policy = (await response?.headerValue("content-security-policy")) ?? "";
      expect(policy, `round ${round}, load ${load}: the page's own policy`).toMatch(/script-src 'self' 'nonce-/);
      const hydrated = await page
        .waitForFunction(() => document.documentElement.hasAttribute("data-hydrated"), null, { timeout: 10_000 })
        .then(() => true, () => false);
      expect(hydrated, `round ${round}, load ${load}: the page never reported itself hydrated`).toBe(true);
      await expect(page.getByRole("heading", { name: "API Keys", level: 1 })).toBeVisible();
    }
  }
});
