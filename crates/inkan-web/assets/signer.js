// The signer's screen: the usage guide, document tabs, zoom, field overlays, the checklist with
// its required count, attachments, and the confirm / decline dialogs. No framework, no CDN.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // Dialog buttons that close their dialog.
  $$("[data-close]").forEach((b) =>
    b.addEventListener("click", () => { const d = document.getElementById(b.dataset.close); if (d) d.close(); }));
  const declineOpen = $("#decline-open");
  if (declineOpen) declineOpen.addEventListener("click", () => {
    const more = declineOpen.closest("details"); if (more) more.open = false;
    $("#decline-dialog").showModal();
  });

  const root = $(".signing");
  if (!root) return;
  const token = root.dataset.token;
  const csrf = root.dataset.csrf;

  // 使い方ガイド, unless 「次回以降表示しない」 was ticked on an earlier visit.
  const guide = $("#guide");
  const GUIDE_KEY = "inkan.guide.hidden";
  let hidden = false;
  try { hidden = localStorage.getItem(GUIDE_KEY) === "1"; } catch (e) { hidden = false; }
  if (guide && !hidden) guide.showModal();
  const guideClose = $("#guide-close");
  if (guideClose) guideClose.addEventListener("click", () => {
    if ($("#guide-hide").checked) { try { localStorage.setItem(GUIDE_KEY, "1"); } catch (e) { /* private mode */ } }
    guide.close();
  });

  // The toolbar stays at the top while scrolling: whatever is scrolled to, or focused by Tab,
  // must land below it, not under it (WCAG 2.4.11). Its height changes as it wraps.
  const toolbar = $(".toolbar");
  function keepClearOfToolbar() {
    if (toolbar) document.documentElement.style.scrollPaddingTop = (toolbar.offsetHeight + 8) + "px";
  }
  keepClearOfToolbar();
  window.addEventListener("resize", keepClearOfToolbar);

  // Field overlays: positions come as percentages of the page (CSP forbids inline styles).
  $$(".overlay").forEach((o) => {
    o.style.left = o.dataset.left + "%";
    o.style.top = o.dataset.top + "%";
    o.style.width = o.dataset.width + "%";
    o.style.height = o.dataset.height + "%";
  });

  // Tabs: one document shown at a time, `文書 1 (1/3)`.
  const docs = $$("article.document");
  const tabs = $$(".tab");
  const docpos = $("#docpos");
  const word = docpos ? docpos.textContent.split(" ")[0] : "";
  function show(i) {
    docs.forEach((d, k) => { d.hidden = k !== i; });
    tabs.forEach((t, k) => t.setAttribute("aria-selected", k === i ? "true" : "false"));
    if (docpos) docpos.textContent = `${word} ${i + 1} (${i + 1}/${docs.length})`;
  }
  tabs.forEach((t) => t.addEventListener("click", () => show(Number(t.dataset.doc))));

  // Zoom: 50 % to 200 %; sharper images are fetched when enlarged.
  const viewer = $("#viewer");
  let zoom = 1;
  function setZoom(z) {
    zoom = Math.min(2, Math.max(0.5, Math.round(z * 4) / 4));
    viewer.style.setProperty("--zoom", String(zoom));
    $("#zoom-level").textContent = Math.round(zoom * 100) + "%";
    const w = Math.min(2400, Math.max(400, Math.ceil((1000 * zoom) / 200) * 200));
    $$("img.pageimg").forEach((img) => {
      const u = new URL(img.src, location.href);
      if (u.searchParams.get("w") !== String(w)) { u.searchParams.set("w", String(w)); img.src = u.pathname + u.search; }
    });
  }
  $("#zoom-in").addEventListener("click", () => setZoom(zoom + 0.25));
  $("#zoom-out").addEventListener("click", () => setZoom(zoom - 0.25));

  // Fields and the checklist.
  const fields = $$(".field[data-field]");
  function filled(f) {
    switch (f.dataset.kind) {
      case "signature": return f.classList.contains("filled");
      case "checkbox": return $("input[type=checkbox]", f).checked;
      case "attachment": return $("input[type=hidden]", f).value !== "";
      default: return f.value.trim() !== "";
    }
  }
  function refresh() {
    let total = 0, done = 0;
    fields.forEach((f) => {
      const ok = filled(f);
      if (f.dataset.kind !== "signature") f.classList.toggle("filled", ok);
      const item = $(`.check-item[data-target="${f.id}"]`);
      if (item) item.classList.toggle("filled", ok);
      if (f.dataset.required === "1") { total += 1; if (ok) done += 1; }
    });
    $("#required-done").textContent = String(done);
    $("#required-total").textContent = String(total);
    $("#finish").disabled = done !== total;
  }
  fields.forEach((f) => {
    if (f.dataset.kind === "signature") {
      f.addEventListener("click", () => { f.classList.toggle("filled"); refresh(); });
    } else {
      f.addEventListener("input", refresh);
      f.addEventListener("change", refresh);
    }
  });
  $$(".check-item").forEach((item) => item.addEventListener("click", () => {
    show(Number(item.dataset.doc));
    const target = document.getElementById(item.dataset.target);
    if (!target) return;
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    const focusable = target.matches("input, button") ? target : $("input", target);
    if (focusable) focusable.focus({ preventScroll: true });
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 1200);
  }));

  // Attachments go up as soon as they are chosen; the form then carries their IDs.
  $$(".attach-file").forEach((input) => input.addEventListener("change", async () => {
    const box = input.closest(".field");
    const status = $(".attach-status", box);
    const file = input.files && input.files[0];
    if (!file) return;
    status.textContent = "…";
    try {
      const r = await fetch(`/s/${encodeURIComponent(token)}/attachments/${encodeURIComponent(input.dataset.field)}?name=${encodeURIComponent(file.name)}`,
        { method: "POST", headers: { "X-CSRF-Token": csrf, "Content-Type": "application/pdf" }, body: file, credentials: "same-origin" });
      const body = await r.json();
      if (!r.ok) throw new Error(body && body.error ? body.error.message : String(r.status));
      $("input[type=hidden]", box).value = body.id;
      status.textContent = file.name + " ✓";
    } catch (e) {
      $("input[type=hidden]", box).value = "";
      status.textContent = "✗ " + e.message;
    }
    refresh();
  }));

  $("#finish").addEventListener("click", () => $("#confirm-dialog").showModal());
  $("#complete-form").addEventListener("submit", () => { $("#confirm-complete").disabled = true; });
  refresh();
})();
