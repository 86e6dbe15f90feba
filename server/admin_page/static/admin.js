// Madoguchi /admin: the administrators' page. Signs in through /api/auth/login (token kept in sessionStorage,
// never in a URL), then speaks only the admin REST API, which checks role and municipality on every request.
// Every text comes from /admin/i18n/<lang>.json; every value is written with textContent or .value, never as HTML.
(() => {
  "use strict";

  const TOKEN_KEY = "madoguchi.admin.token";
  const REFRESH_KEY = "madoguchi.admin.refresh";
  const LANG_KEY = "madoguchi.admin.lang";
  const ROLES = ["specialist", "supervisor", "it_monitor", "admin", "partner"];
  const NEEDS = ["sign_language", "written", "large_text", "supporter", "interpreter"];
  const AUDIT_PAGE = 50;
  const SETTINGS = "/api/admin/settings";

  const languages = (document.body.dataset.languages || "ja").split(",");
  const texts = {};
  let lang = languages.includes(localStorage.getItem(LANG_KEY)) ? localStorage.getItem(LANG_KEY) : "ja";
  let token = sessionStorage.getItem(TOKEN_KEY);
  let refresh = sessionStorage.getItem(REFRESH_KEY);
  let me = null;
  let tab = "places";
  let editingStaff = null;
  let auditBefore = null;
  let auditNext = null;
  const data = { municipalities: [], branches: [], services: [], staff: [], kiosks: [], settings: null, audit: [] };

  const $ = (id) => document.getElementById(id);
  function t(key, params) {
    let s = (texts[lang] && texts[lang][key]) || (texts.ja && texts.ja[key]) || key;
    if (params) for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
    return s;
  }
  const known = (key) => !!((texts[lang] && texts[lang][key]) || (texts.ja && texts.ja[key]));
  function el(tag, opts, ...children) {
    const node = document.createElement(tag);
    if (opts) {
      for (const [k, v] of Object.entries(opts)) {
        if (v === undefined || v === null) continue;
        if (k === "text") node.textContent = String(v);
        else if (k === "value") node.value = String(v);  // a textarea has no value attribute
        else if (k === "cls") node.className = v;
        else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
        else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
        else if (k in node && typeof v !== "string") node[k] = v;
        else node.setAttribute(k, v);
      }
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  const local = (o, base) => (lang === "ja" ? o[`${base}_ja`] : o[`${base}_en`] || o[`${base}_ja`]);
  const muniName = (code) => { const m = data.municipalities.find((x) => x.code === code); return m ? local(m, "name") : code; };
  const branchName = (code) => { const b = data.branches.find((x) => x.code === code); return b ? local(b, "name") : code; };
  const svcName = (code) => { const s = data.services.find((x) => x.code === code); return s ? local(s, "name") : code; };
  function fmtTime(iso) {
    if (!iso) return t("never");
    return new Date(iso).toLocaleString(lang === "ja" ? "ja-JP" : "en-GB",
      { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // ------------------------------------------------------------------ language
  async function loadTexts(code) {
    if (texts[code]) return;
    const r = await fetch(`/admin/i18n/${code}.json`, { cache: "no-cache" });
    texts[code] = await r.json();
  }
  function applyStatic() {
    document.documentElement.lang = lang;
    document.title = t("page_title");
    for (const n of document.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
    const next = languages[(languages.indexOf(lang) + 1) % languages.length];
    for (const b of document.querySelectorAll(".lang-toggle")) {
      b.textContent = (texts[next] && texts[next]._language) || next;
      b.dataset.lang = next;
    }
    $("staff-form-title").textContent = t(editingStaff ? "staff_edit" : "staff_new");
    $("staff-submit").textContent = t(editingStaff ? "save" : "add");
    if (me) $("who").textContent = lang === "ja" ? `${me.display_name}（${muniName(me.municipality)}）`
      : `${me.display_name} (${muniName(me.municipality)})`;
  }
  async function setLang(code) {
    await loadTexts(code);
    lang = code;
    localStorage.setItem(LANG_KEY, lang);
    $("notice").hidden = true;
    applyStatic();
    if (me) renderAll();
  }

  // ------------------------------------------------------------------ sign-in and the API
  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("password").value = "";
    $("username").focus();
  }
  function keep(body) {
    token = body.access_token; refresh = body.refresh_token;
    sessionStorage.setItem(TOKEN_KEY, token); sessionStorage.setItem(REFRESH_KEY, refresh);
  }
  function forget() {
    token = null; refresh = null; me = null;
    sessionStorage.removeItem(TOKEN_KEY); sessionStorage.removeItem(REFRESH_KEY);
  }
  async function login(ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    $("login-button").disabled = true;
    try {
      const signed = await window.MadoguchiSignIn.login($("username").value, $("password").value, ["admin"]);
      if (signed.error) return showLogin(t(signed.error));
      keep(signed.body);
      $("password").value = "";
      await start();
    } catch (e) {
      showLogin(t("login_failed"));
    } finally {
      $("login-button").disabled = false;
    }
  }
  async function renew() {
    if (!refresh) return false;
    const r = await fetch("/api/auth/refresh", {
      method: "POST", headers: { "Content-Type": "application/json" }, cache: "no-store",
      body: JSON.stringify({ refresh_token: refresh }),
    });
    if (!r.ok) return false;
    keep(await r.json());
    return true;
  }
  class SignedOut extends Error {}
  // {status, body}: every answer but a lost sign-in is given back to the caller to show
  async function api(method, path, body, retried) {
    const r = await fetch(path, {
      method, cache: "no-store",
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status === 401 && !retried && await renew()) return api(method, path, body, true);
    if (r.status === 401) { forget(); showLogin(t("session_expired")); throw new SignedOut(); }
    if (r.status === 403 && path !== SETTINGS) {  // this object is out of reach, or the account is no longer an admin
      const probe = await fetch(SETTINGS, { cache: "no-store", headers: { Authorization: `Bearer ${token}` } });
      if (probe.status === 403 || probe.status === 401) { forget(); showLogin(t("not_allowed")); throw new SignedOut(); }
    }
    let payload = null;
    try { payload = await r.json(); } catch (e) { payload = null; }
    return { status: r.status, ok: r.ok, body: payload };
  }
  async function logout() {
    if (refresh) {
      fetch("/api/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: refresh }) }).catch(() => {});
    }
    forget();
    showLogin("");
  }

  // ------------------------------------------------------------------ errors and notices
  function errorText(e) {
    const type = String(e.type || "").replace(/^madoguchi\./, "").replace(/\./g, "_");
    const key = `err_${type}`;
    return known(key) ? t(key, e.ctx || {}) : (e.msg || t("err_invalid"));
  }
  function clearErrors(box) {
    for (const n of box.querySelectorAll(".field-error, .form-error")) n.textContent = "";
    for (const n of box.querySelectorAll(".has-error")) n.classList.remove("has-error");
  }
  // a refused request: each error next to its field, the rest above the button
  function showErrors(box, res) {
    clearErrors(box);
    const general = box.querySelector(".form-error");
    const say = (text) => { if (general) general.textContent = general.textContent ? `${general.textContent} ${text}` : text; else notice(text, true); };
    const detail = res.body && res.body.detail;
    if (res.status === 403) return say(t("err_forbidden"));
    if (res.status === 404) return say(t("err_not_found"));
    if (!Array.isArray(detail)) return say(typeof detail === "string" ? detail : t("err_failed"));
    for (const e of detail) {
      const loc = Array.isArray(e.loc) ? e.loc : [];
      const field = loc[0] === "body" && loc.length > 1 ? String(loc[1]) : "";
      const slot = field ? box.querySelector(`[data-error-for="${CSS.escape(field)}"]`) : null;
      if (slot) {
        slot.textContent = slot.textContent ? `${slot.textContent} ${errorText(e)}` : errorText(e);
        const input = box.querySelector(`[name="${CSS.escape(field)}"], [data-name="${CSS.escape(field)}"]`);
        if (input) input.classList.add("has-error");
      } else {
        say(field ? `${t(field)}: ${errorText(e)}` : errorText(e));
      }
    }
  }
  let noticeTimer = null;
  function notice(text, bad) {
    const n = $("notice");
    n.textContent = text; n.hidden = false; n.classList.toggle("bad", !!bad);
    if (noticeTimer) clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.hidden = true; }, 6000);
  }

  // ------------------------------------------------------------------ form values
  function values(box) {
    const out = {};
    for (const input of box.querySelectorAll("input[name], select[name], textarea[name]")) {
      if (input.disabled || input.closest("[hidden]")) continue;
      const name = input.name;
      if (input.type === "checkbox") out[name] = input.checked;
      else if (input.dataset.type === "list") out[name] = input.value.split(/[\s,、]+/).filter(Boolean);
      else if (input.dataset.type === "number") {
        const v = input.value.trim();
        out[name] = v !== "" && !Number.isNaN(Number(v)) ? Number(v) : v;
      } else out[name] = input.value.trim();
    }
    for (const group of box.querySelectorAll(".checks[data-name]")) {
      out[group.dataset.name] = [...group.querySelectorAll("input:checked")].map((i) => i.value);
    }
    return out;
  }
  function fillSelect(select, items) {
    const keep = select.value;
    select.replaceChildren(...items.map(([value, label]) => el("option", { value, text: label })));
    if (items.some(([v]) => v === keep)) select.value = keep;
  }
  function fillChecks(box, items, checked) {
    box.replaceChildren(...items.map(([value, label]) => el("label", { cls: "check" },
      el("input", { type: "checkbox", value, checked: checked.includes(value) }), el("span", { text: label }))));
  }
  function fillChoices() {
    for (const s of document.querySelectorAll('select[data-kind="municipalities"]')) {
      fillSelect(s, data.municipalities.map((m) => [m.code, local(m, "name")]));
    }
    for (const s of document.querySelectorAll('select[data-kind="branches"]')) {
      fillSelect(s, data.branches.map((b) => [b.code, lang === "ja" ? `${local(b, "name")}（${muniName(b.municipality)}）`
        : `${local(b, "name")} (${muniName(b.municipality)})`]));
    }
    for (const s of document.querySelectorAll('select[data-kind="roles"]')) fillSelect(s, ROLES.map((r) => [r, t(`role_${r}`)]));
  }

  // ------------------------------------------------------------------ loading
  async function load(what) {
    const paths = { municipalities: "/api/admin/municipalities", branches: "/api/admin/branches",
      services: "/api/admin/services", staff: "/api/admin/staff", kiosks: "/api/admin/kiosks",
      settings: SETTINGS };
    await Promise.all(what.map(async (k) => {
      const r = await api("GET", paths[k]);
      if (r.status === 403) { forget(); showLogin(t("not_allowed")); throw new SignedOut(); }
      if (r.ok) data[k] = r.body;
    }));
  }
  async function start() {
    await load(["settings", "municipalities", "branches", "services", "staff", "kiosks"]);  // 403: not an admin
    me = data.settings;
    $("login").hidden = true;
    $("app").hidden = false;
    applyStatic();
    renderAll();
    show(tab);
  }
  function show(name) {
    tab = name;
    for (const b of document.querySelectorAll("#tabs [data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
    for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== `tab-${name}`;
    if (name === "audit") loadAudit(null);
  }
  function renderAll() {
    fillChoices();
    renderPlaces(); renderServices(); renderStaff(); renderKiosks(); renderRetention(); renderAudit();
  }
  // a change was made: reload what it touched, redraw, say so
  async function done(what, message) {
    await load(what);
    renderAll();
    notice(message || t("saved"));
  }
  async function submit(box, method, path, body, what, message) {
    clearErrors(box);
    const buttons = box.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const res = await api(method, path, body);
      if (!res.ok) { showErrors(box, res); return null; }
      await done(what, message);
      return res.body;
    } catch (e) {
      if (!(e instanceof SignedOut)) showErrors(box, { status: 0, body: null });
      return null;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }
  const cellInput = (field, value, attrs) => el("td", null,
    el("input", { name: field, value: value === undefined || value === null ? "" : String(value), ...(attrs || {}) }),
    el("span", { cls: "field-error", data: { errorFor: field } }));

  // ------------------------------------------------------------------ municipalities and branches
  function renderPlaces() {
    $("municipality-rows").replaceChildren(...data.municipalities.map((m) => {
      const row = el("tr", { cls: "editable", data: { code: m.code } },
        el("td", { text: m.code }), cellInput("name_ja", m.name_ja, { maxLength: 64 }), cellInput("name_en", m.name_en, { maxLength: 64 }),
        el("td", null, el("label", { cls: "check" }, el("input", { type: "checkbox", name: "outside_supervision", checked: m.outside_supervision }),
          el("span", { text: t("allowed") }))),
        el("td", null, el("button", { type: "button", text: t("save"), on: { click: () =>
          submit(row, "PATCH", `/api/admin/municipalities/${encodeURIComponent(m.code)}`, values(row), ["municipalities", "branches"]) } }),
        el("p", { cls: "form-error", role: "alert" })));
      return row;
    }));
    $("branch-rows").replaceChildren(...data.branches.map((b) => {
      const row = el("tr", { cls: "editable", data: { code: b.code } },
        el("td", { text: muniName(b.municipality) }), el("td", { text: b.code }),
        cellInput("name_ja", b.name_ja, { maxLength: 64 }), cellInput("name_en", b.name_en, { maxLength: 64 }),
        cellInput("distance_km", b.distance_km, { inputMode: "decimal", "data-type": "number", cls: "num" }),
        el("td", null, el("button", { type: "button", text: t("save"), on: { click: () =>
          submit(row, "PATCH", `/api/admin/branches/${encodeURIComponent(b.code)}`, values(row), ["branches"]) } }),
        el("p", { cls: "form-error", role: "alert" })));
      return row;
    }));
  }

  // ------------------------------------------------------------------ services
  function renderServices() {
    const s = data.settings;
    const region = !!(s && s.region);
    if (s) $("pool-wait").textContent = t("seconds", { n: s.shared_pool_after_s });
    $("services-readonly").hidden = region;
    $("service-new").hidden = !region;
    const field = (name, value, label, long) => el("label", null, el("span", { text: t(label) }),
      el(long ? "textarea" : "input", { name, value: value || "", maxLength: long ? 256 : name.startsWith("hours") ? 128 : 64, disabled: !region, rows: long ? 2 : undefined }),
      el("span", { cls: "field-error", data: { errorFor: name } }));
    $("service-cards").replaceChildren(...data.services.map((svc) => {
      const form = el("form", { cls: "card form service", novalidate: true, data: { code: svc.code } },
        el("h3", null, el("span", { text: local(svc, "name") }), el("code", { text: ` ${svc.code}` })),
        el("div", { cls: "fields" },
          field("name_ja", svc.name_ja, "name_ja"), field("name_en", svc.name_en, "name_en"),
          field("description_ja", svc.description_ja, "description_ja", true), field("description_en", svc.description_en, "description_en", true),
          field("hours_ja", svc.hours_ja, "hours_ja"), field("hours_en", svc.hours_en, "hours_en"),
          el("label", { cls: "check" }, el("input", { type: "checkbox", name: "shared", checked: svc.shared, disabled: !region }),
            el("span", { text: t("shared") }))),
        el("p", { cls: "form-error", role: "alert" }),
        region ? el("button", { type: "submit", cls: "primary", text: t("save") }) : null);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        submit(form, "PATCH", `/api/admin/services/${encodeURIComponent(svc.code)}`, values(form), ["services"]);
      });
      return form;
    }));
  }

  // ------------------------------------------------------------------ staff
  function renderStaff() {
    $("staff-rows").replaceChildren(...data.staff.map((s) => el("tr", { data: { username: s.username }, cls: s.active ? "" : "inactive" },
      el("td", { text: s.username }), el("td", { text: s.display_name }), el("td", { text: muniName(s.municipality) }),
      el("td", { text: t(`role_${s.role}`) }), el("td", { cls: "wrap", text: s.skills.map(svcName).join(lang === "ja" ? "、" : ", ") }),
      el("td", { text: s.languages.join(", ") }), el("td", { text: s.active ? t("active") : t("disabled") }),
      el("td", { cls: "actions" },
        el("button", { type: "button", text: t("edit"), data: { act: "edit" }, on: { click: () => editStaff(s) } }),
        el("button", { type: "button", text: s.active ? t("disable") : t("enable"), data: { act: "active" }, on: { click: () => setActive(s) } }),
        el("button", { type: "button", text: t("reset_password"), data: { act: "password" }, on: { click: () => resetPassword(s) } })))));
    fillChecks(document.querySelector('#staff-form [data-name="skills"]'), data.services.map((v) => [v.code, local(v, "name")]),
      editingStaff ? editingStaff.skills : []);
    fillChecks(document.querySelector('#staff-form [data-name="capabilities"]'), NEEDS.map((n) => [n, t(`need_${n}`)]),
      editingStaff ? editingStaff.capabilities : []);
  }
  function editStaff(s) {
    editingStaff = s;
    const f = $("staff-form");
    clearErrors(f);
    for (const n of f.querySelectorAll("[data-create-only]")) n.hidden = true;
    f.elements.display_name.value = s.display_name;
    f.elements.role.value = s.role;
    f.elements.languages.value = s.languages.join(", ");
    $("staff-cancel").hidden = false;
    applyStatic(); renderStaff();
    f.scrollIntoView({ block: "nearest" });
  }
  function endEdit() {
    editingStaff = null;
    const f = $("staff-form");
    f.reset(); clearErrors(f);
    for (const n of f.querySelectorAll("[data-create-only]")) n.hidden = false;
    $("staff-cancel").hidden = true;
    applyStatic(); renderStaff();
  }
  function showPassword(title, password) {
    $("password-title").textContent = title;
    $("password-value").textContent = password;
    $("password-shown").hidden = false;
  }
  async function saveStaff(ev) {
    ev.preventDefault();
    const f = $("staff-form");
    const body = values(f);
    if (editingStaff) {
      delete body.username; delete body.municipality_code;
      if (await submit(f, "PATCH", `/api/admin/staff/${editingStaff.id}`, body, ["staff"])) endEdit();
      return;
    }
    const made = await submit(f, "POST", "/api/admin/staff", body, ["staff"], t("staff_created"));
    if (made) {
      endEdit();
      if (made.password) showPassword(t("password_for", { name: made.username }), made.password);
    }
  }
  async function setActive(s) {
    if (s.active && !window.confirm(t("confirm_disable", { name: s.username }))) return;
    const box = $("staff-form");
    await submit(box, "PATCH", `/api/admin/staff/${s.id}`, { active: !s.active }, ["staff"]);
  }
  async function resetPassword(s) {
    if (!window.confirm(t("confirm_reset", { name: s.username }))) return;
    const res = await submit($("staff-form"), "POST", `/api/admin/staff/${s.id}/password`, {}, ["staff"], t("password_reset_done"));
    if (res && res.password) showPassword(t("password_for", { name: s.username }), res.password);
  }

  // ------------------------------------------------------------------ kiosks
  function kioskState(k) {
    if (k.revoked) return t("kiosk_revoked");
    if (k.enrolled) return t("kiosk_enrolled");
    if (k.enroll_expires_at) return t("kiosk_pending", { until: fmtTime(k.enroll_expires_at) });
    return t("kiosk_not_enrolled");
  }
  function renderKiosks() {
    $("kiosk-rows").replaceChildren(...data.kiosks.map((k) => {
      const row = el("tr", { cls: k.revoked ? "editable inactive" : "editable", data: { kiosk: k.id, state: k.revoked ? "revoked" : k.enrolled ? "enrolled" : "pending" } },
        el("td", { text: k.id }), cellInput("name", k.name, { maxLength: 64 }),
        el("td", { text: branchName(k.branch) }), el("td", { cls: "state", text: kioskState(k) }), el("td", { text: fmtTime(k.last_seen_at) }),
        el("td", { cls: "actions" },
          el("button", { type: "button", text: t("save_name"), data: { act: "rename" }, on: { click: () =>
            submit(row, "PATCH", `/api/admin/kiosks/${k.id}`, values(row), ["kiosks"]) } }),
          k.revoked ? null : el("button", { type: "button", cls: "danger", text: t("revoke"), data: { act: "revoke" }, on: { click: () => revokeKiosk(row, k) } }),
          el("p", { cls: "form-error", role: "alert" })));
      return row;
    }));
  }
  async function revokeKiosk(row, k) {
    if (!window.confirm(t("confirm_revoke", { id: k.id, name: k.name }))) return;
    await submit(row, "POST", `/api/admin/kiosks/${k.id}/revoke`, undefined, ["kiosks"], t("kiosk_revoked_done"));
  }
  async function enrollKiosk(ev) {
    ev.preventDefault();
    const f = $("kiosk-new");
    const body = values(f);
    if (!body.selfcheck_pin) delete body.selfcheck_pin;
    const e = await submit(f, "POST", "/api/admin/kiosks", body, ["kiosks"], t("enrolled_done"));
    if (!e) return;
    f.reset();
    $("enroll-kiosk").textContent = String(e.kiosk_id);
    $("enroll-code").textContent = e.code;
    $("enroll-pin").textContent = e.selfcheck_pin || t("pin_given");
    $("enroll-qr").src = e.qr_svg;
    $("enroll-qr").alt = t("qr_alt", { code: e.code });
    $("enroll-shown").hidden = false;
  }

  // ------------------------------------------------------------------ retention
  function renderRetention() {
    const s = data.settings;
    if (!s) return;
    $("retention-rows").replaceChildren(...s.retention.map((r) => el("tr", { data: { record: r.record } },
      el("td", { text: known(`record_${r.record}`) ? t(`record_${r.record}`) : r.record }),
      el("td", { cls: "num", text: t("days_n", { n: r.days }) }),
      el("td", { cls: "muted", text: known(`record_${r.record}_what`) ? t(`record_${r.record}_what`) : r.what }))));
    $("retention-run").textContent = s.retention_run_s > 0 ? t("every_hours", { n: Math.round(s.retention_run_s / 360) / 10 })
      : t("cli_only");
  }

  // ------------------------------------------------------------------ audit
  async function loadAudit(before) {
    const f = $("audit-filter");
    clearErrors(f);
    const v = values(f);
    const q = new URLSearchParams({ limit: String(AUDIT_PAGE) });
    for (const k of ["action", "actor", "subject"]) if (v[k]) q.set(k, v[k]);
    for (const k of ["from", "to"]) {
      if (!v[k]) continue;
      const d = new Date(v[k]);
      if (Number.isNaN(d.getTime())) { f.querySelector(`[data-error-for="${k}"]`).textContent = t("err_datetime_parsing"); return; }
      q.set(k, d.toISOString());
    }
    if (before) q.set("before", String(before));
    try {
      const res = await api("GET", `/api/audit?${q}`);
      if (!res.ok) {  // query errors name the query field: show them by its name
        const body = res.body && Array.isArray(res.body.detail)
          ? { detail: res.body.detail.map((e) => ({ ...e, loc: ["body", ...(e.loc || []).slice(1)] })) } : res.body;
        return showErrors(f, { status: res.status, body });
      }
      auditBefore = before;
      auditNext = res.body.next_before;
      data.audit = res.body.items;
      renderAudit();
    } catch (e) {
      if (!(e instanceof SignedOut)) showErrors(f, { status: 0, body: null });
    }
  }
  function renderAudit() {
    $("audit-rows").replaceChildren(...(data.audit.length ? data.audit.map((r) => el("tr", { data: { seq: r.seq, action: r.action } },
      el("td", { cls: "num", text: r.seq }), el("td", { text: fmtTime(r.at) }), el("td", { text: r.actor }),
      el("td", { text: r.action }), el("td", { text: r.subject }),
      el("td", { cls: "detail", text: Object.keys(r.detail || {}).length ? JSON.stringify(r.detail) : "" })))
      : [el("tr", { cls: "empty" }, el("td", { colSpan: 6, text: t("no_rows") }))]));
    $("audit-older").disabled = !auditNext;
    $("audit-newest").disabled = !auditBefore;
  }

  // ------------------------------------------------------------------ wiring
  function onForm(id, fn) { $(id).addEventListener("submit", (ev) => { ev.preventDefault(); fn(ev); }); }
  async function boot() {
    await Promise.all(languages.map(loadTexts));  // every language: the toggle names the next in its own words
    applyStatic();
    $("login-form").addEventListener("submit", login);
    for (const b of document.querySelectorAll(".lang-toggle")) b.addEventListener("click", () => setLang(b.dataset.lang));
    $("logout").addEventListener("click", logout);
    for (const b of document.querySelectorAll("#tabs [data-tab]")) b.addEventListener("click", () => show(b.dataset.tab));
    onForm("branch-new", () => submit($("branch-new"), "POST", "/api/admin/branches", values($("branch-new")), ["branches"], t("branch_added"))
      .then((b) => { if (b) $("branch-new").reset(); }));
    onForm("service-new", () => submit($("service-new"), "POST", "/api/admin/services", values($("service-new")), ["services"], t("service_added"))
      .then((s) => { if (s) $("service-new").reset(); }));
    $("staff-form").addEventListener("submit", saveStaff);
    $("staff-cancel").addEventListener("click", endEdit);
    $("password-done").addEventListener("click", () => { $("password-shown").hidden = true; $("password-value").textContent = ""; });
    $("kiosk-new").addEventListener("submit", enrollKiosk);
    $("enroll-done").addEventListener("click", () => {
      $("enroll-shown").hidden = true; $("enroll-code").textContent = ""; $("enroll-pin").textContent = ""; $("enroll-qr").removeAttribute("src");
    });
    onForm("audit-filter", () => loadAudit(null));
    $("audit-newest").addEventListener("click", () => loadAudit(null));
    $("audit-older").addEventListener("click", () => { if (auditNext) loadAudit(auditNext); });
    if (!token) return showLogin("");
    try { await start(); } catch (e) { if (!(e instanceof SignedOut)) showLogin(t("login_failed")); }
  }
  window.addEventListener("unhandledrejection", (ev) => { if (ev.reason instanceof SignedOut) ev.preventDefault(); });
  boot();
})();
