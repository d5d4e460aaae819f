// A bulk send's page: the counts and the bar follow the jobs as they send each row, until no
// row waits. The table of rows is as it was when the page was shown (its link refreshes it).
"use strict";
(function () {
  const root = document.getElementById("bulk");
  if (!root) return;
  const url = root.dataset.progress;
  const set = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = String(value); };
  async function poll() {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const p = await response.json();
      const done = p.sent + p.failed;
      document.getElementById("bulk-bar").value = done;
      set("bulk-done", done);
      set("bulk-sent", p.sent);
      set("bulk-failed", p.failed);
      if (p.finished) { document.getElementById("bulk-finished").hidden = false; return; }
    } catch (e) { /* the next round tries again */ }
    setTimeout(poll, 2000);
  }
  if (document.getElementById("bulk-finished").hidden) setTimeout(poll, 1000);
})();
