// The browser guest: an xterm.js terminal fitted to the window, joined to
// the session by a WebSocket at this page's address + "/ws". The relay
// draws the screen (binary messages) and reads keystrokes (binary
// messages); the page only tells it the terminal's size (text messages,
// {"cols":N,"rows":N}). A dropped connection is retried; a close with a
// code of 4000-4099 (detached, session ended, refused) is final.
(function () {
  "use strict";
  var body = document.body;
  var banner = document.getElementById("banner");
  var term = new Terminal({
    cursorBlink: false,
    scrollback: 0, // the relay draws whole screens; history lives in copy mode
    fontFamily: "DejaVu Sans Mono, Menlo, Consolas, monospace",
    fontSize: 14,
    allowProposedApi: false,
  });
  var fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById("terminal"));
  fit.fit();
  term.focus();
  window.tmateRelay = { term: term }; // for tests and the curious

  var enc = new TextEncoder();
  var ws = null;
  var connects = 0;
  var retry = 0;
  var final = false;
  var maxChunk = 16 * 1024; // the relay takes messages of up to 64 KiB

  function state(s, text) {
    body.dataset.state = s;
    body.dataset.connects = String(connects);
    banner.hidden = !text;
    banner.textContent = text || "";
  }

  function send(bytes) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    for (var i = 0; i < bytes.length; i += maxChunk) {
      ws.send(bytes.subarray(i, i + maxChunk));
    }
  }

  term.onData(function (s) { send(enc.encode(s)); });
  // Mouse reports in the X10 encoding: one byte a character.
  term.onBinary(function (s) {
    var b = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
    send(b);
  });
  term.onResize(function (size) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ cols: size.cols, rows: size.rows }));
    }
  });
  var fitTimer = 0;
  function refit() {
    clearTimeout(fitTimer);
    fitTimer = setTimeout(function () { fit.fit(); }, 50);
  }
  window.addEventListener("resize", refit);
  if (window.ResizeObserver) new ResizeObserver(refit).observe(document.getElementById("terminal"));

  function connect() {
    var url = new URL(location.pathname.replace(/\/$/, "") + "/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.search = "?cols=" + term.cols + "&rows=" + term.rows;
    var sock = new WebSocket(url);
    sock.binaryType = "arraybuffer";
    ws = sock;
    sock.onopen = function () {
      connects++;
      retry = 0;
      term.reset(); // the relay sends a whole screen to every new guest
      state("open", "");
      term.focus();
    };
    sock.onmessage = function (ev) {
      if (typeof ev.data !== "string") term.write(new Uint8Array(ev.data));
    };
    sock.onclose = function (ev) {
      if (ws !== sock) return;
      ws = null;
      if (ev.code >= 4000 && ev.code < 4100) {
        final = true;
        state("ended", (ev.reason || "The session has ended") + ". Reload the page to join again.");
        return;
      }
      var wait = Math.min(250 * Math.pow(2, retry++), 5000);
      state("reconnecting", "Connection lost: reconnecting\u2026");
      setTimeout(connect, wait);
    };
  }
  connect();
})();
