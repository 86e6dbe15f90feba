// Madoguchi /api-docs: sign in, then Swagger UI (served by this server, never a CDN) reads /openapi.json with the
// token. The token and its refresh token live in this page's memory only; the access token is renewed a minute
// before it expires, and signing out revokes the refresh token.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const OPS = ["it_monitor", "admin"];
  const langs = (document.body.dataset.languages || "ja").split(",");
  let lang = langs[0];
  let table = {};
  let token = null, refresh = null, timer = null, ui = null;

  function t(key, params) {
    let s = table[key] || key;
    for (const [k, v] of Object.entries(params || {})) s = s.replace(`{${k}}`, v);
    return s;
  }
  async function setLanguage(code) {
    const r = await fetch(`/api-docs/i18n/${code}.json`, { cache: "no-cache" });
    if (!r.ok) return;
    table = await r.json();
    lang = code;
    document.documentElement.lang = code;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  }
  function showLogin(message) {
    $("login").hidden = false;
    $("bar").hidden = true;
    $("swagger").hidden = true;
    $("login-error").textContent = message || "";
  }
  function keep(body) {
    token = body.access_token;
    refresh = body.refresh_token;
    clearTimeout(timer);
    timer = setTimeout(renew, Math.max(10, body.expires_in - 60) * 1000);
  }
  async function renew() {
    if (!refresh) return;
    try {
      const r = await fetch("/api/auth/refresh", {
        method: "POST", headers: { "Content-Type": "application/json" }, cache: "no-store",
        body: JSON.stringify({ refresh_token: refresh }),
      });
      if (r.ok) return keep(await r.json());
    } catch (e) { /* fall through: sign in again */ }
    token = refresh = null;
    showLogin(t("expired"));
  }
  function show(staff) {
    $("login").hidden = true;
    $("bar").hidden = false;
    $("swagger").hidden = false;
    $("who").textContent = t("signed_in", { name: staff.display_name || staff.username, role: staff.role });
    ui = window.SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger",
      deepLinking: false,
      requestInterceptor: (req) => { if (token) req.headers.Authorization = `Bearer ${token}`; return req; },
    });
  }
  async function login(ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    $("login-button").disabled = true;
    try {
      const signed = await window.MadoguchiSignIn.login($("username").value, $("password").value, OPS);
      if (signed.error) return showLogin(t(signed.error));
      keep(signed.body);
      $("password").value = "";
      show(signed.body.staff);
    } catch (e) {
      showLogin(t("login_failed"));
    } finally {
      $("login-button").disabled = false;
    }
  }
  async function logout() {
    const old = refresh;
    token = refresh = null;
    clearTimeout(timer);
    if (old) {
      await fetch("/api/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" },
        cache: "no-store", body: JSON.stringify({ refresh_token: old }) }).catch(() => {});
    }
    $("swagger").replaceChildren();
    ui = null;
    showLogin("");
  }
  document.addEventListener("DOMContentLoaded", async () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("lang-toggle").addEventListener("click", () => setLanguage(langs[(langs.indexOf(lang) + 1) % langs.length]));
    await setLanguage(lang);
  });
})();
