import { defineConfig } from "@playwright/test";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// `make test` picks a free port and a fresh database for the run, and names the server it built
// (KEYWARD_BIN: the tests' target/debug/keyward); Playwright starts it there and stops it afterwards.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const dataDir = process.env.E2E_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "keyward-e2e-"));
const server = process.env.KEYWARD_BIN ?? "./target/release/keyward";

// A secret scanner for the leaks spec: its private key in a file the spec signs reports with, its
// public key given to the server as an operator would (KEYWARD_LEAK_REPORT_KEYS, GitHub's format).
// Made once, by the first process to read this file; the test workers inherit its path.
if (!process.env.E2E_SCANNER_KEY) {
  const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const file = path.join(dataDir, "scanner-key.pem");
  fs.writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  process.env.E2E_SCANNER_KEY = file;
}
const scannerPublicKey = crypto
  .createPublicKey(fs.readFileSync(process.env.E2E_SCANNER_KEY))
  .export({ type: "spki", format: "pem" })
  .toString();
const SCANNER_KEY_ID = "e2e-scanner";

const LAST = /(first_use|accessibility|key_owner|credits)\.spec\.ts/;

export default defineConfig({
  testDir: "./tests",
  // The tests share one server and one organization, and build on each other: run them in order.
  fullyParallel: false,
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  // "site" checks first that the page hydrates; when it cannot, the specs are skipped, not timed out.
  // The first-use checks (and the accessibility scan) run last, at a laptop's size and then a
  // phone's: they make keys of their own, which the specs before them do not expect.
  projects: [
    { name: "site", testMatch: /site\.setup\.ts/ },
    { name: "dashboard", testMatch: /\.spec\.ts/, testIgnore: LAST, dependencies: ["site"],
      use: { viewport: { width: 1280, height: 800 } } },
    { name: "1280", testMatch: LAST, dependencies: ["dashboard"], use: { viewport: { width: 1280, height: 800 } } },
    { name: "390", testMatch: LAST, dependencies: ["1280"],
      use: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } },
  ],
  webServer: {
    command: server,
    cwd: "..",
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      DATABASE_URL: `sqlite://${dataDir}/keyward.db`,
      KEYWARD_LISTEN: `127.0.0.1:${port}`,
      KEYWARD_LOG: "info",
      // Usage reaches the dashboard within a second, so the usage spec need not wait long.
      KEYWARD_USAGE_FLUSH_SECS: "1",
      // The webhooks spec's receiver listens on loopback.
      KEYWARD_WEBHOOK_ALLOW_PRIVATE: "true",
      KEYWARD_LEAK_REPORT_KEYS: JSON.stringify({
        public_keys: [{ key_identifier: SCANNER_KEY_ID, key: scannerPublicKey, is_current: true }],
      }),
    },
  },
});
