import { expect, test } from "@playwright/test";

// Runs before every other spec (a project dependency in playwright.config.ts): when the dashboard
// cannot hydrate, the run stops here, saying why, instead of each spec timing out on a dead page.
test("the dashboard's assets load and the page hydrates", async ({ page }) => {
  const missing: string[] = [];
  const failed: string[] = [];
  const errors: string[] = [];
  const assets: { path: string; encoding?: string; caching?: string }[] = [];
  page.on("response", async (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith("/pkg/") && response.ok()) {
      const headers = await response.allHeaders();
      assets.push({ path, encoding: headers["content-encoding"], caching: headers["cache-control"] });
    }
    if (response.status() < 400) return;
    const refused = `${response.status()} ${response.url()}`;
    (new URL(response.url()).pathname.startsWith("/pkg/") ? missing : failed).push(refused);
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });

  const first = await page.goto("/");
  await page.waitForLoadState("load");
  // The page runs under a strict policy (a nonce per response): hydration must work within it.
  expect(first?.headers()["content-security-policy"] ?? "", "the page's Content-Security-Policy").toContain("'nonce-");
  expect(missing, "assets under /pkg/ that the page asked for and the server does not have").toEqual([]);
  await expect(page.locator("html"), `the page never reported itself hydrated; errors: ${errors.join(" | ")}`)
    .toHaveAttribute("data-hydrated", "", { timeout: 15_000 });
  expect(failed, "other resources the page asked for and did not get").toEqual([]);
  expect(errors, "console errors (a CSP violation among them) while loading and hydrating").toEqual([]);

  // The script, the stylesheet and the WASM (the frame and the page's area): compressed, named by
  // their hash, and kept by the browser for a year.
  for (const kind of [".js", ".css", ".wasm"]) {
    expect(assets.some((a) => a.path.endsWith(kind)), `a ${kind} file was loaded`).toBe(true);
  }
  for (const asset of assets) {
    expect(asset.path, "a file named by its content's hash").toMatch(/\.[A-Za-z0-9_-]{22}\.(js|css|wasm)$/);
    expect(["br", "gzip"], `${asset.path} is sent compressed`).toContain(asset.encoding);
    expect(asset.caching, `${asset.path} is cached`).toBe("public, max-age=31536000, immutable");
  }
});
