import { test as base, expect, type Page } from "@playwright/test";

/**
 * Playwright's `test`, whose page fails the test on any error in the browser: a console error, a
 * panic in the WASM, an uncaught exception. A hydration that goes wrong says so there, and nowhere
 * else. The one message let through is Chromium's own note that a request answered 4xx, which the
 * specs provoke on purpose (a refused form is a 422) and which the app shows on the page itself.
 */
export const test = base.extend({
  page: async ({ page }, use) => {
    const errors: string[] = [];
    page.on("console", (message) => {
      const text = message.text();
      const refusal = /^Failed to load resource: the server responded with a status of 4\d\d/.test(text);
      if (message.type() === "error" && !refusal) errors.push(text);
    });
    page.on("pageerror", (error) => errors.push(error.message));
    await use(page);
    expect(errors, "errors in the browser").toEqual([]);
  },
});
export { expect };

// The organization the first spec sets up; later specs sign in as its owner.
export const owner = {
  organization: "Acme Robotics",
  name: "Ada Lovelace",
  email: "ada@acme.test",
  password: "correct horse battery staple",
};

// A full token: kw_<env>_ + 32 random + 6 checksum characters, all base62.
export const TOKEN = /^kw_live_[0-9A-Za-z]{38}$/;

export async function signIn(page: Page, password = owner.password) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/**
 * The header a script needs to call the dashboard's server functions: changes sent without this
 * site's Origin (or a browser's `Sec-Fetch-Site: same-origin`) are refused as cross-site.
 */
export function sameOrigin(page: Page): Record<string, string> {
  return { Origin: new URL(page.url()).origin };
}

/** The Default project's id, from the `list_projects` server function. */
export async function defaultProjectId(page: Page): Promise<string> {
  const response = await page.request.post("/api/list_projects", { headers: sameOrigin(page) });
  expect(response.ok()).toBe(true);
  const projects = await response.json();
  return projects[0].id as string;
}

/** Posts to the `create_key` server function, as a script or a no-JS form would. */
export async function postCreateKey(page: Page, name: string, environment = "development") {
  const projectId = await defaultProjectId(page);
  return page.request.post("/api/create_key", { headers: sameOrigin(page),
    form: { name, project_id: projectId, environment, scopes: "api_keys.read", expiration: "never" },
  });
}

export type Created = { key: { id: string }; token: string };

/** A production key of the Default project with these scopes, made through the `create_key` server function. */
export async function createKey(page: Page, name: string, scopes: string): Promise<Created> {
  const response = await page.request.post("/api/create_key", { headers: sameOrigin(page),
    form: { name, project_id: await defaultProjectId(page), environment: "production", scopes, expiration: "never" },
  });
  expect(response.ok(), await response.text()).toBe(true);
  return (await response.json()) as Created;
}

export async function createKeysDirectly(page: Page, names: string[], environment = "development") {
  for (const name of names) {
    const response = await postCreateKey(page, name, environment);
    expect(response.ok(), await response.text()).toBe(true);
  }
}
