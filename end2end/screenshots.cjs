// The screenshots in docs/screenshots: the keys page, the create dialog and a key's page, at a
// laptop's and a phone's size, of a Keyward that has just been set up (the first run of a fresh
// clone's `make run`).
//
//   node end2end/screenshots.cjs http://127.0.0.1:3000 docs/screenshots after
//
// It sets the instance up (or signs in), moves it to the Enterprise plan, makes three keys through the dashboard's own server
// functions (the same for every version of the dialog), verifies one so that it has been used, and
// writes <prefix>-{keys,create,key}-{1280,390}.jpeg.
const path = require("node:path");
const { chromium } = require("@playwright/test");

const [base, out, prefix] = process.argv.slice(2);
if (!base || !out || !prefix) {
  console.error("usage: node end2end/screenshots.cjs BASE_URL OUT_DIR PREFIX");
  process.exit(2);
}
const owner = { organization: "Acme", name: "Ada Lovelace", email: "ada@acme.test", password: "correct horse battery" };
const sizes = [
  { name: "1280", viewport: { width: 1280, height: 800 } },
  { name: "390", viewport: { width: 390, height: 844 } },
];

async function signedIn(page) {
  await page.goto(`${base}/setup`);
  await page.waitForLoadState("networkidle");
  if (new URL(page.url()).pathname === "/setup") {
    await page.getByLabel("Organization name").fill(owner.organization);
    await page.getByLabel("Your name").fill(owner.name);
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill(owner.password);
    await page.getByRole("button", { name: "Create organization" }).click();
  } else {
    await page.goto(`${base}/sign-in`);
    await page.waitForLoadState("networkidle");
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill(owner.password);
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await page.waitForURL(/\/keys/);
  await page.waitForLoadState("networkidle");
}

/** A key made as the create form makes it; its answer holds the token. */
async function createKey(page, fields) {
  return page.evaluate(async (fields) => {
    const answer = await fetch("/api/create_key", {
      method: "POST",
      headers: { Accept: "application/json" },
      body: new URLSearchParams(fields),
    });
    if (!answer.ok) throw new Error(`create_key: ${answer.status} ${await answer.text()}`);
    return answer.json();
  }, fields);
}

async function keys(page) {
  const names = await page.getByRole("link", { name: "Production backend" }).count();
  if (names > 0) return;
  // A plan with room for more keys, so that the Create button stays usable in the pictures.
  await page.evaluate(async () => {
    const answer = await fetch("/api/change_plan", { method: "POST", headers: { Accept: "application/json" }, body: new URLSearchParams({ plan: "enterprise" }) });
    if (!answer.ok) throw new Error(`change_plan: ${answer.status} ${await answer.text()}`);
  });
  const project = await page.locator("#key-project option").first().getAttribute("value");
  const common = { project_id: project, expiration: "90", rate_limit_window: "none" };
  const verifier = await createKey(page, { ...common, name: "Order service verifier", environment: "production", scopes: "api_keys.verify" });
  const backend = await createKey(page, { ...common, name: "Production backend", environment: "production", scopes: "api_keys.read" });
  await createKey(page, { ...common, name: "Staging worker", environment: "staging", scopes: "api_keys.read audit.read" });
  for (let i = 0; i < 3; i++) {
    await page.evaluate(
      async ({ verifier, token }) => {
        await fetch("/api/v1/keys/verify", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-API-Key": verifier },
          body: JSON.stringify({ key: token }),
        });
      },
      { verifier: verifier.token, token: backend.token },
    );
  }
  // Usage is written every few seconds (KEYWARD_USAGE_FLUSH_SECS, 5 by default).
  await page.waitForTimeout(6000);
}

(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  const setup = await browser.newPage();
  await signedIn(setup);
  await keys(setup);
  const cookies = await setup.context().cookies();
  for (const size of sizes) {
    const context = await browser.newContext({ viewport: size.viewport });
    await context.addCookies(cookies);
    const page = await context.newPage();
    const shot = (what, options = {}) =>
      page.screenshot({ path: path.join(out, `${prefix}-${what}-${size.name}.jpeg`), type: "jpeg", quality: 70, ...options });
    await page.goto(`${base}/keys`);
    await page.waitForLoadState("networkidle");
    await shot("keys", { fullPage: true });
    await page.getByRole("button", { name: "Create API Key" }).first().click();
    await page.getByRole("dialog", { name: "Create API Key" }).waitFor();
    await page.waitForTimeout(300);
    await shot("create");
    await page.goto(`${base}/keys`);
    await page.waitForLoadState("networkidle");
    await page.getByRole("link", { name: "Production backend" }).first().click();
    await page.getByRole("heading", { level: 1, name: "Production backend" }).waitFor();
    await page.waitForLoadState("networkidle");
    await shot("key", { fullPage: true });
    await context.close();
  }
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
