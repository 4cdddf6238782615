import { expect, test, createKey, signIn } from "./fixtures";

// A key's page with live traffic: its usage changes between the server's render and the browser's
// hydration, which must not make the two disagree (a hydration panic leaves every button dead).
test("a key's page hydrates cleanly, load after load, while the key is being verified", async ({ page, request }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys/);
  const verifier = await createKey(page, "E2E live verifier", "api_keys.verify");
  const busy = await createKey(page, "E2E live customer", "telemetry.write");

  // Verifications run the whole time, so the usage flush (every second here) keeps changing it.
  let running = true;
  const traffic = (async () => {
    while (running) {
      await request.post("/api/v1/keys/verify", { headers: { "X-API-Key": verifier.token }, data: { key: busy.token } });
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();

  const problems: string[] = [];
  page.on("console", (message) => { if (message.type() === "error") problems.push(message.text()); });
  page.on("pageerror", (error) => problems.push(error.message));
  try {
    for (let load = 1; load <= 20; load++) {
      await page.goto(`/keys/${busy.key.id}`);
      const hydrated = await page
        .waitForFunction(() => document.documentElement.hasAttribute("data-hydrated"), null, { timeout: 10_000 })
        .then(() => true, () => false);
      expect(problems, `load ${load}: errors in the browser`).toEqual([]);
      expect(hydrated, `load ${load}: the page never reported itself hydrated`).toBe(true);
      await expect(page.getByRole("heading", { name: "E2E live customer" })).toBeVisible();
    }
    // And it still answers: a button works after all that.
    await page.getByRole("button", { name: "Rotate" }).click();
    await expect(page.getByRole("dialog")).toBeVisible();
  } finally {
    running = false;
    await traffic;
  }
});
