// Drives Debian's headless chromium for the tests, through the Go package
// service/web/browsertest. The test sends one JSON command a line on stdin and
// reads one JSON reply a line on stdout ({"ok":true,...} or
// {"ok":false,"error":"..."}), so the scenario and
// its checks stay in Go, beside the SSH guests' ones.
//
// Commands ("page" names a tab the test opened):
//   {"op":"open","page":"rw","url":URL,"width":W,"height":H,"headers":{NAME:VALUE}}
//     (headers, optional: sent with every request of the page)
//   {"op":"screen","page":"rw"} -> text (the terminal's rows), state, connects, cols, rows
//   {"op":"type","page":"rw","text":"..."}       typed into the terminal
//   {"op":"press","page":"rw","key":"Control+b"} one key, playwright's names
//   {"op":"resize","page":"rw","width":W,"height":H}
//   {"op":"body","page":"rw"} -> text (the page's visible text), state
//   {"op":"screenshot","page":"rw","path":FILE}
//   {"op":"quit"}
import { chromium } from "playwright-core";
import readline from "node:readline";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tmate-relay-chromium-"));
const browser = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const pages = new Map();

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function terminal(page) {
  return page.evaluate(() => {
    const r = window.tmateRelay;
    const d = document.body.dataset;
    if (!r) return { text: "", state: d.state || "", connects: 0, cols: 0, rows: 0 };
    const buf = r.term.buffer.active;
    const lines = [];
    for (let y = 0; y < r.term.rows; y++) {
      const line = buf.getLine(buf.viewportY + y);
      lines.push(line ? line.translateToString(true) : "");
    }
    return { text: lines.join("\n"), state: d.state, connects: Number(d.connects), cols: r.term.cols, rows: r.term.rows };
  });
}

async function run(cmd) {
  const page = pages.get(cmd.page);
  switch (cmd.op) {
    case "open": {
      const p = await browser.newPage();
      p.on("console", (m) => process.stderr.write(`[${cmd.page} console] ${m.text()}\n`));
      p.on("pageerror", (e) => process.stderr.write(`[${cmd.page} error] ${e}\n`));
      await p.setViewportSize({ width: cmd.width || 1000, height: cmd.height || 600 });
      if (cmd.headers) await p.setExtraHTTPHeaders(cmd.headers);
      const resp = await p.goto(cmd.url, { waitUntil: "load" });
      pages.set(cmd.page, p);
      return { status: resp ? resp.status() : 0 };
    }
    case "screen":
      return terminal(page);
    case "body":
      return page.evaluate(() => ({ text: document.body.innerText, state: document.body.dataset.state || "" }));
    case "type":
      await page.locator(".xterm").click();
      await page.keyboard.type(cmd.text, { delay: 5 });
      return {};
    case "press":
      await page.locator(".xterm").click();
      await page.keyboard.press(cmd.key);
      return {};
    case "resize":
      await page.setViewportSize({ width: cmd.width, height: cmd.height });
      return {};
    case "screenshot":
      await page.screenshot({ path: cmd.path });
      return {};
    case "quit":
      await browser.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
      reply({ ok: true });
      process.exit(0);
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

reply({ ok: true, ready: true });
const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  try {
    const cmd = JSON.parse(line);
    if (cmd.op !== "open" && cmd.op !== "quit" && !pages.has(cmd.page)) throw new Error(`no page ${cmd.page}`);
    reply({ ok: true, ...(await run(cmd)) });
  } catch (e) {
    reply({ ok: false, error: String(e && e.message || e) });
  }
}
await browser.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
