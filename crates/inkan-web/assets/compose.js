// The new-envelope page: recipients, PDFs previewed as page images rendered by the server, fields
// placed on the pages by dragging (pointer events, so mouse, touch and pen all work) or by
// click-then-click, then the NewEnvelope JSON posted with the session's CSRF token.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const root = $("#compose");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const ja = root.dataset.lang !== "en";
  const t = (j, e) => (ja ? j : e);

  // Default deadline: 7 days ahead, 23:59 JST.
  const deadline = $("#deadline");
  {
    const d = new Date(Date.now() + 7 * 86400000 + 9 * 3600000);
    deadline.value = d.toISOString().slice(0, 10) + "T23:59";
  }

  // Recipients.
  const tbody = $("#recipients tbody");
  let nextKey = 1;
  function addRecipient(name, email, role, order) {
    const tr = document.createElement("tr");
    tr.dataset.key = "r" + nextKey++;
    // One card per recipient (the column is narrow): the order on the left, then name, email,
    // role and method each at full width, every control with its own label.
    tr.innerHTML =
      '<td class="c-order"><label><span></span><input class="r-order" type="number" min="1" max="99" value="1"></label></td>' +
      '<td class="c-name"><input class="r-name" type="text" maxlength="100" required></td>' +
      '<td class="c-email"><input class="r-email" type="email" required></td>' +
      '<td class="c-role"><select class="r-role"><option value="signer"></option><option value="approver"></option><option value="cc"></option></select></td>' +
      '<td class="c-method"><select class="r-method"><option value="witness"></option><option value="party"></option></select></td>' +
      '<td class="c-check"><select class="r-check"><option value=""></option><option value="access_code"></option><option value="sms"></option></select>' +
      '<input class="r-check-value" type="text" maxlength="40" autocomplete="off" hidden></td>' +
      '<td class="c-remove"><button type="button" class="r-remove">×</button></td>';
    $(".c-order span", tr).textContent = t("順番", "Order");
    for (const [cls, ja, en] of [["r-name", "氏名", "Name"], ["r-email", "メールアドレス", "Email"], ["r-role", "役割", "Role"], ["r-method", "署名方法", "Method"], ["r-check", "本人確認", "Identity check"]]) {
      const el = $("." + cls, tr);
      el.setAttribute("aria-label", t(ja, en));
      if (el.tagName === "INPUT") el.placeholder = t(ja, en);
    }
    $(".r-remove", tr).setAttribute("aria-label", t("この宛先を削除", "Remove this recipient"));
    const roles = $(".r-role", tr).options;
    roles[0].textContent = t("署名者", "Signer");
    roles[1].textContent = t("承認者 (社内承認)", "Approver (internal)");
    roles[2].textContent = t("受領者 (写しの送付)", "Copy recipient");
    const methods = $(".r-method", tr).options;
    methods[0].textContent = t("契約印タイプ (立会人型)", "Witness signature");
    methods[1].textContent = t("実印タイプ (当事者型)", "Own certificate");
    // 本人確認: an access code the sender gives another way, or a code by SMS to a mobile number.
    const checks = $(".r-check", tr).options;
    checks[0].textContent = t("メールのみ", "Email link only");
    checks[1].textContent = t("アクセスコード", "Access code");
    checks[2].textContent = t("SMS認証", "SMS code");
    const checkValue = $(".r-check-value", tr);
    $(".r-check", tr).addEventListener("change", () => {
      const kind = $(".r-check", tr).value;
      checkValue.hidden = kind === "";
      checkValue.required = kind !== "";
      const label = kind === "sms" ? t("携帯電話番号 (090-1234-5678)", "Mobile number (+81 90 1234 5678)")
        : t("アクセスコード (40文字まで)", "Access code (up to 40 characters)");
      checkValue.placeholder = label;
      checkValue.setAttribute("aria-label", label);
      checkValue.type = kind === "sms" ? "tel" : "text";
    });
    $(".r-name", tr).value = name || "";
    $(".r-email", tr).value = email || "";
    $(".r-role", tr).value = role || "signer";
    $(".r-order", tr).value = String(order || 1);
    $(".r-remove", tr).addEventListener("click", () => { tr.remove(); recipientsChanged(); });
    $$("input, select", tr).forEach((el) => el.addEventListener("change", recipientsChanged));
    tbody.appendChild(tr);
    recipientsChanged();
    return tr;
  }
  function recipients() {
    return $$("tr", tbody).map((tr) => ({
      key: tr.dataset.key,
      name: $(".r-name", tr).value.trim(),
      email: $(".r-email", tr).value.trim(),
      role: $(".r-role", tr).value,
      order: Number($(".r-order", tr).value) || 1,
      method: $(".r-method", tr).value,
      access_code: $(".r-check", tr).value === "access_code" ? $(".r-check-value", tr).value.trim() : null,
      sms_phone: $(".r-check", tr).value === "sms" ? $(".r-check-value", tr).value.trim() : null,
    }));
  }
  const placeFor = $("#place-recipient");
  function recipientsChanged() {
    const current = placeFor.value;
    placeFor.innerHTML = "";
    recipients().filter((r) => r.role === "signer").forEach((r) => {
      const o = document.createElement("option");
      o.value = r.key;
      o.textContent = `${r.order}. ${r.name || r.email || r.key}`;
      placeFor.appendChild(o);
    });
    if ($$("option", placeFor).some((o) => o.value === current)) placeFor.value = current;
    documents.forEach(renderSigners);
  }
  const maxOrder = () => recipients().reduce((m, r) => Math.max(m, r.order), 0);
  $("#add-recipient").addEventListener("click", () => addRecipient("", "", "signer", maxOrder() + 1));
  $("#add-me").addEventListener("click", () => addRecipient(root.dataset.meName, root.dataset.meEmail, "signer", maxOrder() + 1));
  $("#add-counterparty").addEventListener("click", () => {
    const o = $("#counterparty").selectedOptions[0];
    if (!o || !o.value) { showError(t("取引先を選んでください。", "Choose a counterparty first.")); return; }
    addRecipient(o.dataset.name, o.dataset.email, "signer", 1);
  });

  // Documents: each previewed by the server; pages shown with their placed fields.
  const documents = [];
  const pagesBox = $("#pages");
  $("#files").addEventListener("change", async (ev) => {
    const files = Array.from(ev.target.files || []);
    ev.target.value = "";
    for (const file of files) {
      showError("");
      try {
        const r = await fetch("/app/envelopes/preview", {
          method: "POST", credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf, "Content-Type": "application/pdf" }, body: file,
        });
        const body = await r.json();
        if (!r.ok) throw new Error(body && body.error ? body.error.message : String(r.status));
        const doc = { file, name: file.name, pages: body.pages, fields: [], index: documents.length };
        documents.push(doc);
        renderDocument(doc);
      } catch (e) {
        showError(`${file.name}: ${e.message}`);
      }
    }
  });
  function renderDocument(doc) {
    const empty = $(".empty", pagesBox);
    if (empty) empty.remove();
    const card = document.createElement("div");
    card.className = "doc-entry";
    card.innerHTML =
      '<strong class="doc-name"></strong> <button type="button" class="doc-remove">×</button>' +
      '<div class="docmeta"><label></label><input class="m-date" type="date">' +
      '<label></label><input class="m-amount" type="text" inputmode="numeric">' +
      '<label></label><input class="m-counterparty" type="text"><div class="doc-signers"></div></div>';
    $(".doc-name", card).textContent = `${doc.index + 1}. ${doc.name}`;
    // Each input named by its label (for=id), so screen readers announce what it is.
    const labels = $$("label", card);
    [["m-date", t("取引年月日", "Transaction date")],
     ["m-amount", t("取引金額（円）", "Amount (yen)")],
     ["m-counterparty", t("取引先", "Counterparty")]].forEach(([cls, text], k) => {
      const id = `${cls}-${doc.index}`;
      $("." + cls, card).id = id;
      labels[k].htmlFor = id;
      labels[k].textContent = text;
    });
    $(".doc-remove", card).setAttribute("aria-label", `${doc.name} ${t("を外す", "— remove")}`);
    doc.card = card;
    $("#documents").appendChild(card);
    $(".doc-remove", card).addEventListener("click", () => {
      documents.splice(documents.indexOf(doc), 1);
      card.remove();
      doc.section.remove();
    });
    renderSigners(doc);
    const section = document.createElement("section");
    section.className = "doc-pages";
    const h = document.createElement("h3");
    h.textContent = `${doc.index + 1}. ${doc.name}`;
    section.appendChild(h);
    doc.pages.forEach((p, i) => {
      const page = document.createElement("div");
      page.className = "page drop";
      page.dataset.doc = String(doc.index);
      page.dataset.page = String(i + 1);
      const img = document.createElement("img");
      img.src = p.image;
      img.alt = `${doc.name} p.${i + 1}`;
      img.draggable = false;
      page.appendChild(img);
      page.addEventListener("click", (ev) => {
        if (armed && ev.target === img) { place(doc, i, page, ev.clientX, ev.clientY, armed.dataset.kind); disarm(); }
      });
      section.appendChild(page);
    });
    doc.section = section;
    pagesBox.appendChild(section);
  }
  // Who signs each document (a 請書 is signed by the vendor alone).
  function renderSigners(doc) {
    const box = $(".doc-signers", doc.card);
    if (!box) return;
    const before = new Set($$("input:checked", box).map((i) => i.value));
    const fresh = box.childElementCount === 0;
    box.innerHTML = "";
    const title = document.createElement("p");
    title.className = "hint";
    title.textContent = t("この文書に署名する宛先", "Who signs this document");
    box.appendChild(title);
    recipients().filter((r) => r.role === "signer").forEach((r) => {
      const l = document.createElement("label");
      l.className = "check";
      const c = document.createElement("input");
      c.type = "checkbox";
      c.value = r.key;
      c.checked = fresh || before.has(r.key) || !doc.seen || !doc.seen.has(r.key);
      l.appendChild(c);
      l.appendChild(document.createTextNode(" " + (r.name || r.email || r.key)));
      box.appendChild(l);
    });
    doc.seen = new Set(recipients().map((r) => r.key));
  }

  // Placing fields.
  const DEFAULT_SIZE = { signature: [160, 48], text: [140, 22], date: [130, 22], checkbox: [18, 18], attachment: [160, 28] };
  const KIND_LABEL = { signature: t("署名", "Signature"), text: t("テキスト", "Text"), date: t("日付", "Date"), checkbox: "☑", attachment: t("添付", "Attach") };
  function place(doc, pageIndex, pageEl, clientX, clientY, kind) {
    const key = placeFor.value;
    if (!key) { showError(t("先に署名者を追加してください。", "Add a signer first.")); return; }
    const rect = pageEl.getBoundingClientRect();
    const p = doc.pages[pageIndex];
    const [w, h] = DEFAULT_SIZE[kind];
    // Points from the page's bottom-left, as PDF counts them.
    let x = ((clientX - rect.left) / rect.width) * p.width_pt - w / 2;
    let yTop = ((clientY - rect.top) / rect.height) * p.height_pt - h / 2;
    x = Math.max(0, Math.min(p.width_pt - w, x));
    yTop = Math.max(0, Math.min(p.height_pt - h, yTop));
    const field = {
      recipient: key, kind, label: $("#place-label").value.trim(), required: $("#place-required").checked,
      placement: { page: pageIndex + 1, x, y: p.height_pt - yTop - h, width: w, height: h },
    };
    if (kind === "date") field.date_format = $("#place-date-format").value;
    if (kind === "signature" && doc.fields.some((f) => f.kind === "signature" && f.recipient === key)) {
      showError(t("署名欄は文書ごとに宛先1人につき1つです。", "One signature field per signer per document."));
      return;
    }
    doc.fields.push(field);
    drawField(doc, pageEl, field);
    showError("");
  }
  function drawField(doc, pageEl, field) {
    const p = doc.pages[field.placement.page - 1];
    const box = document.createElement("div");
    box.className = "placed";
    box.dataset.kind = field.kind;
    const who = recipients().find((r) => r.key === field.recipient);
    box.textContent = `${KIND_LABEL[field.kind]} ${field.label} (${who ? who.name || who.email : field.recipient})`;
    const position = () => {
      box.style.left = (field.placement.x / p.width_pt) * 100 + "%";
      box.style.top = ((p.height_pt - field.placement.y - field.placement.height) / p.height_pt) * 100 + "%";
      box.style.width = (field.placement.width / p.width_pt) * 100 + "%";
      box.style.height = (field.placement.height / p.height_pt) * 100 + "%";
    };
    position();
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "×";
    remove.addEventListener("click", (ev) => {
      ev.stopPropagation();
      doc.fields.splice(doc.fields.indexOf(field), 1);
      box.remove();
    });
    box.appendChild(remove);
    // Move a placed field by dragging it.
    box.addEventListener("pointerdown", (ev) => {
      if (ev.target === remove) return;
      ev.preventDefault();
      box.setPointerCapture(ev.pointerId);
      const rect = pageEl.getBoundingClientRect();
      const move = (e) => {
        const x = ((e.clientX - rect.left) / rect.width) * p.width_pt - field.placement.width / 2;
        const top = ((e.clientY - rect.top) / rect.height) * p.height_pt - field.placement.height / 2;
        field.placement.x = Math.max(0, Math.min(p.width_pt - field.placement.width, x));
        field.placement.y = p.height_pt - Math.max(0, Math.min(p.height_pt - field.placement.height, top)) - field.placement.height;
        position();
      };
      const up = () => { box.removeEventListener("pointermove", move); box.removeEventListener("pointerup", up); };
      box.addEventListener("pointermove", move);
      box.addEventListener("pointerup", up);
    });
    pageEl.appendChild(box);
  }
  // Dragging a chip from the palette; a plain click arms it for click-to-place instead.
  let armed = null;
  function disarm() { if (armed) armed.classList.remove("armed"); armed = null; }
  $$(".chip").forEach((chip) => {
    chip.addEventListener("pointerdown", (ev) => {
      ev.preventDefault();
      const startX = ev.clientX, startY = ev.clientY;
      let ghost = null;
      const move = (e) => {
        if (!ghost && Math.hypot(e.clientX - startX, e.clientY - startY) < 6) return;
        if (!ghost) {
          ghost = document.createElement("div");
          ghost.className = "ghost";
          ghost.textContent = KIND_LABEL[chip.dataset.kind];
          document.body.appendChild(ghost);
        }
        ghost.style.left = e.clientX - 70 + "px";
        ghost.style.top = e.clientY - 14 + "px";
      };
      const up = (e) => {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", up);
        if (!ghost) { // a click
          if (armed === chip) { disarm(); } else { disarm(); armed = chip; chip.classList.add("armed"); }
          return;
        }
        ghost.remove();
        const target = document.elementFromPoint(e.clientX, e.clientY);
        const pageEl = target && target.closest(".page.drop");
        if (!pageEl) return;
        const doc = documents.find((d) => d.index === Number(pageEl.dataset.doc));
        if (doc) place(doc, Number(pageEl.dataset.page) - 1, pageEl, e.clientX, e.clientY, chip.dataset.kind);
      };
      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", up);
    });
  });

  function showError(text) { $("#compose-error").textContent = text; }

  // Posts `form` with the upload's progress shown (fetch cannot report it; XMLHttpRequest can).
  function upload(url, form) {
    const box = $("#upload-progress"), bar = $("#upload-bar"), percent = $("#upload-percent");
    box.hidden = false;
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        const p = Math.floor((e.loaded / e.total) * 100);
        bar.value = p;
        percent.textContent = p + "%";
      });
      xhr.addEventListener("load", () => {
        const body = xhr.response;
        if (xhr.status >= 200 && xhr.status < 300 && body) { resolve(body); return; }
        box.hidden = true;
        reject(new Error(body && body.error ? body.error.message : String(xhr.status)));
      });
      xhr.addEventListener("error", () => {
        box.hidden = true;
        reject(new Error(t("通信が切れました。もう一度お試しください。", "The connection broke; please try again.")));
      });
      xhr.send(form);
    });
  }

  async function submit(send) {
    showError("");
    const title = $("#title").value.trim();
    if (!title) { showError(t("封筒名を入力してください。", "Enter a title.")); return; }
    if (!documents.length) { showError(t("PDFを追加してください。", "Add at least one PDF.")); return; }
    const rs = recipients();
    if (!rs.some((r) => r.role === "signer")) { showError(t("署名者を追加してください。", "Add a signer.")); return; }
    const deadlineAt = Date.parse(deadline.value + ":00+09:00");
    if (Number.isNaN(deadlineAt)) { showError(t("署名期限を入力してください。", "Enter the deadline.")); return; }
    const buttons = [$("#save-draft"), $("#send-now")];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const docs = [];
      for (const d of documents) {
        docs.push({
          name: d.name,
          signers: $$(".doc-signers input:checked", d.card).map((c) => c.value),
          fields: d.fields,
          metadata: {
            date: $(".m-date", d.card).value || null,
            amount: $(".m-amount", d.card).value.trim() || null,
            counterparty: $(".m-counterparty", d.card).value.trim() || null,
          },
        });
      }
      const envelope = {
        title, number: $("#number").value.trim(), message: $("#message").value,
        deadline: Math.floor(deadlineAt / 1000), counterparty: $("#counterparty").value || null,
        recipients: rs, documents: docs,
        folder: ($("#folder") && $("#folder").value) || null,
      };
      // multipart/form-data: the envelope's JSON first, then each PDF as its own part (the
      // server stores them one at a time), then the attachments (納付書, 仕様書 …: not signed,
      // shown to every recipient).
      const form = new FormData();
      form.append("envelope", new Blob([JSON.stringify(envelope)], { type: "application/json" }));
      for (const d of documents) form.append("document", d.file, d.name);
      for (const file of $("#attachments").files) form.append("attachment", file, file.name);
      const body = await upload("/app/envelopes" + (send ? "?send=true" : ""), form);
      location.assign(body.url);
    } catch (e) {
      showError(e.message);
      buttons.forEach((b) => { b.disabled = false; });
    }
  }
  $("#save-draft").addEventListener("click", () => submit(false));
  $("#send-now").addEventListener("click", () => submit(true));
})();
