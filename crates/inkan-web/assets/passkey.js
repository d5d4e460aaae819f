// パスキー: registers one on the account page (#add-passkey) and uses one after the password
// (#use-passkey). The server sends WebAuthn options with binary values in base64url; the
// browser's API wants bytes, and the answer goes back in base64url. Each button names its
// start and finish URLs, the CSRF token, and where a failure is shown.
(() => {
  "use strict";
  const toBytes = (s) => {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  };
  const toText = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  async function post(url, csrf, body) {
    const r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const answer = await r.json().catch(() => ({}));
    if (!r.ok) {
      throw new Error((answer.error && answer.error.message) || r.statusText);
    }
    return answer;
  }

  function wire(button, ceremony) {
    if (!button) return;
    const error = document.getElementById(button.dataset.error);
    button.addEventListener("click", async () => {
      if (error) error.textContent = "";
      button.disabled = true;
      try {
        const options = await post(button.dataset.start, button.dataset.csrf);
        const done = await ceremony(options.publicKey);
        const answer = await post(button.dataset.finish, button.dataset.csrf, done);
        location.assign(answer.redirect || location.href);
      } catch (e) {
        if (error) error.textContent = e.message || String(e);
        button.disabled = false;
      }
    });
  }

  wire(document.getElementById("add-passkey"), async (publicKey) => {
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.user.id = toBytes(publicKey.user.id);
    (publicKey.excludeCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    const c = await navigator.credentials.create({ publicKey });
    return {
      name: document.getElementById("passkey-name").value,
      credential: {
        id: c.id,
        rawId: toText(c.rawId),
        type: c.type,
        response: {
          attestationObject: toText(c.response.attestationObject),
          clientDataJSON: toText(c.response.clientDataJSON),
        },
        extensions: {},
      },
    };
  });

  wire(document.getElementById("use-passkey"), async (publicKey) => {
    publicKey.challenge = toBytes(publicKey.challenge);
    (publicKey.allowCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    const a = await navigator.credentials.get({ publicKey });
    return {
      credential: {
        id: a.id,
        rawId: toText(a.rawId),
        type: a.type,
        response: {
          authenticatorData: toText(a.response.authenticatorData),
          clientDataJSON: toText(a.response.clientDataJSON),
          signature: toText(a.response.signature),
          userHandle: a.response.userHandle ? toText(a.response.userHandle) : null,
        },
        extensions: {},
      },
    };
  });
})();
