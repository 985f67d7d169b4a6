// The recording page (service/adminpages): plays the recording named by
// #player's data-cast with asciinema-player, served from the relay.
"use strict";
(() => {
  const el = document.getElementById("player");
  if (!el || !window.AsciinemaPlayer) return;
  // Long idle stretches of a support session shrink to 2 s; the
  // download keeps the real timing.
  window.tmateRelayPlayer = AsciinemaPlayer.create(el.dataset.cast, el, {
    autoPlay: true,
    idleTimeLimit: 2,
    fit: "width",
  });
})();
