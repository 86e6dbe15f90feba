// Madoguchi pages' one sign-in (/monitor, /admin, /api-docs): POST /api/auth/login, and what went wrong as a key
// each page translates (bad_login, too_many, login_failed, not_allowed). The page keeps the tokens as it needs.
(() => {
  "use strict";
  async function login(username, password, roles) {
    let r;
    try {
      r = await fetch("/api/auth/login", {
        method: "POST", headers: { "Content-Type": "application/json" }, cache: "no-store",
        body: JSON.stringify({ username: username.trim(), password }),
      });
    } catch (e) {
      return { error: "login_failed" };
    }
    if (r.status === 401) return { error: "bad_login" };
    if (r.status === 429) return { error: "too_many" };
    if (!r.ok) return { error: "login_failed" };
    const body = await r.json();
    if (!roles.includes(body.staff.role)) return { error: "not_allowed" };
    return { body };
  }
  window.MadoguchiSignIn = { login };
})();
