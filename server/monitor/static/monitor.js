// Madoguchi /monitor: log in, open the feed (token in the first frame, never in the URL), draw each snapshot.
// Every value is written with textContent: nothing from the feed is ever parsed as HTML.
(() => {
  "use strict";

  const TOKEN_KEY = "madoguchi.monitor.token";
  const LANG_KEY = "madoguchi.monitor.lang";
  const ALLOWED_ROLES = ["it_monitor", "supervisor", "admin"];
  const STALE_AFTER_MS = 5000;

  const I18N = {
    ja: {
      title: "窓口モニター", login_hint: "IT担当・監督者のアカウントでログインしてください",
      username: "ユーザー名", password: "パスワード", login: "ログイン", logout: "ログアウト",
      lang_toggle: "English", c_kiosks: "端末 接続中", c_staff: "受付可能な職員", c_waiting: "待ち人数",
      c_sessions: "通話中", c_alerts: "アラート", alerts: "アラート", sessions: "通話中のセッション",
      kiosks: "端末", queues: "相談種別ごとの待ち", staff: "職員",
      h_place: "窓口", h_service: "相談種別", h_duration: "通話時間", h_side: "測定側", h_rtt: "RTT ms",
      h_loss: "損失 %", h_bitrate: "kbps", h_fps: "fps", h_state: "状態", h_screen: "画面",
      h_last_seen: "最終接続", h_version: "版", h_waiting: "待ち", h_longest: "最長待ち",
      h_available: "受付可 / 勤務中", h_callbacks: "折り返し電話", h_name: "名前", h_municipality: "所属", h_status: "状態",
      privacy: "この画面には利用者の氏名・相談記録・映像は表示されません",
      stale: "表示が更新されていません（接続を確認中）",
      conn_online: "● 受信中", conn_connecting: "○ 接続中…", conn_offline: "○ 再接続待ち",
      no_alerts: "アラートはありません", no_sessions: "通話中のセッションはありません", none: "—",
      side_kiosk: "端末", side_staff: "職員", media_connecting: "接続待ち",
      bad_login: "ユーザー名またはパスワードが違います", not_allowed: "このアカウントではモニターを表示できません",
      login_failed: "ログインできませんでした", too_many: "ログインの試行が多すぎます。しばらく待ってからもう一度お試しください", session_expired: "ログインの有効期限が切れました。もう一度ログインしてください",
      state_online: "● オンライン", state_offline: "○ オフライン", state_not_enrolled: "未登録",
      screen_idle: "待機画面", screen_choosing: "相談選択", screen_needs: "配慮の選択", screen_waiting: "順番待ち",
      screen_in_call: "通話中", screen_feedback: "アンケート", screen_selfcheck: "自己診断", screen_offline: "—",
      status_available: "受付可", status_away: "離席", status_offered: "呼出中", status_in_call: "通話中",
      status_wrap_up: "後処理", status_offline: "オフライン", reason_no_answer: "（応答なし）",
      reason_signed_in: "（ログイン直後）",
      alert_kiosk_offline: "端末オフライン", alert_quality: "通話品質の低下", alert_long_wait: "長時間の待ち",
      alert_media_not_connected: "映像・音声が接続されません", kiosk_no: "端末", threshold: "基準",
      metric_loss_pct: "パケット損失", metric_rtt_ms: "往復遅延", side_of: (s) => (s === "kiosk" ? "端末側" : "職員側"),
      ago: "前", now: "接続中", offline_for: "切断から", waiting_for: "待ち", not_connected_for: "未接続",
      h_health: "機器・回線", alert_device: "機器の異常", alert_printer: "プリンターの異常",
      alert_version_behind: "ソフトウェアが古い", alert_health_stale: "状態報告が途絶", last_report: "最終報告から",
      expected: "基準", reported: "報告",
      dev_camera: "カメラ", dev_document_camera: "書画カメラ", dev_microphone: "マイク", dev_speaker: "スピーカー",
      dev_printer: "プリンター", ds_ok: "正常", ds_not_installed: "未設置", ds_missing: "見つからない",
      ds_no_frames: "映像が来ない", ds_paper_out: "用紙切れ", ds_jam: "紙詰まり", ds_offline: "オフライン", ds_error: "エラー",
    },
    en: {
      title: "Madoguchi monitor", login_hint: "Sign in with an IT monitor or supervisor account",
      username: "Username", password: "Password", login: "Sign in", logout: "Sign out",
      lang_toggle: "日本語", c_kiosks: "kiosks online", c_staff: "specialists available", c_waiting: "waiting",
      c_sessions: "in a call", c_alerts: "alerts", alerts: "Alerts", sessions: "Live sessions",
      kiosks: "Kiosks", queues: "Queues by service", staff: "Specialists",
      h_place: "Branch", h_service: "Service", h_duration: "Duration", h_side: "Side", h_rtt: "RTT ms",
      h_loss: "Loss %", h_bitrate: "kbps", h_fps: "fps", h_state: "State", h_screen: "Screen",
      h_last_seen: "Last seen", h_version: "Version", h_waiting: "Waiting", h_longest: "Longest wait",
      h_available: "Available / on duty", h_callbacks: "Callbacks", h_name: "Name", h_municipality: "Municipality", h_status: "Status",
      privacy: "No resident names, consultation notes or video are shown on this screen",
      stale: "The display is not being updated (checking the connection)",
      conn_online: "● live", conn_connecting: "○ connecting…", conn_offline: "○ waiting to reconnect",
      no_alerts: "No alerts", no_sessions: "No live sessions", none: "—",
      side_kiosk: "kiosk", side_staff: "staff", media_connecting: "connecting",
      bad_login: "Wrong username or password", not_allowed: "This account may not view the monitor",
      login_failed: "Could not sign in", too_many: "Too many sign-in attempts. Please wait a while and try again", session_expired: "Your sign-in has expired. Please sign in again",
      state_online: "● online", state_offline: "○ offline", state_not_enrolled: "not enrolled",
      screen_idle: "welcome", screen_choosing: "choosing", screen_needs: "needs", screen_waiting: "waiting",
      screen_in_call: "in a call", screen_feedback: "feedback", screen_selfcheck: "self-check", screen_offline: "—",
      status_available: "available", status_away: "away", status_offered: "being offered", status_in_call: "in a call",
      status_wrap_up: "wrap-up", status_offline: "offline", reason_no_answer: "(no answer)",
      reason_signed_in: "(just signed in)",
      alert_kiosk_offline: "Kiosk offline", alert_quality: "Poor call quality", alert_long_wait: "Long wait",
      alert_media_not_connected: "Media not connected", kiosk_no: "kiosk", threshold: "limit",
      metric_loss_pct: "packet loss", metric_rtt_ms: "round-trip time", side_of: (s) => (s === "kiosk" ? "kiosk side" : "staff side"),
      ago: "ago", now: "now", offline_for: "offline for", waiting_for: "waiting", not_connected_for: "no media for",
      h_health: "Devices & link", alert_device: "Device fault", alert_printer: "Printer fault",
      alert_version_behind: "Software out of date", alert_health_stale: "No health report", last_report: "last report",
      expected: "expected", reported: "reported",
      dev_camera: "Camera", dev_document_camera: "Doc camera", dev_microphone: "Mic", dev_speaker: "Speaker",
      dev_printer: "Printer", ds_ok: "OK", ds_not_installed: "not installed", ds_missing: "missing",
      ds_no_frames: "no frames", ds_paper_out: "out of paper", ds_jam: "paper jam", ds_offline: "offline", ds_error: "error",
    },
  };

  let lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "ja";
  let token = sessionStorage.getItem(TOKEN_KEY);
  let ws = null;
  let retryMs = 1000;
  let retryTimer = null;
  let lastSnapshot = null;
  let lastMessageAt = 0;
  let connState = "connecting";

  const $ = (id) => document.getElementById(id);
  const tr = (key) => {
    const v = I18N[lang][key];
    return v === undefined ? key : v;
  };

  function el(tag, opts, ...children) {
    const node = document.createElement(tag);
    if (opts) {
      if (opts.cls) node.className = opts.cls;
      if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
      if (opts.title) node.title = opts.title;
      if (opts.colspan) node.colSpan = opts.colspan;
      if (opts.rowspan) node.rowSpan = opts.rowspan;
      if (opts.data) for (const [k, v] of Object.entries(opts.data)) node.dataset[k] = String(v);
    }
    for (const c of children) if (c) node.appendChild(c);
    return node;
  }

  function fmtDur(seconds) {
    if (seconds === null || seconds === undefined) return tr("none");
    const s = Math.max(0, Math.floor(seconds));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const pad = (n) => String(n).padStart(2, "0");
    if (d > 0) return lang === "ja" ? `${d}日${h}時間` : `${d}d ${h}h`;
    if (h > 0) return `${h}:${pad(m)}:${pad(sec)}`;
    return `${m}:${pad(sec)}`;
  }

  function fmtNum(v, digits) {
    if (v === null || v === undefined) return tr("none");
    return Number(v).toFixed(digits);
  }

  function fmtTime(iso) {
    if (!iso) return tr("none");
    const d = new Date(iso);
    return d.toLocaleString(lang === "ja" ? "ja-JP" : "en-GB",
      { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  const place = (p) => (p ? (lang === "ja" ? p.branch_ja : p.branch_en) : "");
  const muni = (p) => (p ? (lang === "ja" ? p.municipality_ja : p.municipality_en) : "");
  // "美幌町役場 窓口" already says 美幌町; "常呂総合支所" does not say 北見市: then add it
  function where(p) {
    if (!p) return "";
    const b = place(p), m = muni(p);
    const stem = lang === "ja" ? m.replace(/[市町村]$/, "") : m.split(" ")[0];
    if (b.includes(stem)) return b;
    return lang === "ja" ? `${b}（${m}）` : `${b} (${m})`;
  }
  const paren = (text) => (lang === "ja" ? `（${text}）` : ` (${text})`);
  const svcName = (o, ja, en) => (lang === "ja" ? o[ja] : o[en]);

  // ------------------------------------------------------------------ static labels and language
  function applyStatic() {
    document.documentElement.lang = lang;
    document.title = lang === "ja" ? "窓口モニター — Madoguchi monitor" : "Madoguchi monitor — 窓口モニター";
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
    setConn(connState);
  }

  function toggleLang() {
    lang = lang === "ja" ? "en" : "ja";
    localStorage.setItem(LANG_KEY, lang);
    applyStatic();
    if (lastSnapshot) render(lastSnapshot);
  }

  // ------------------------------------------------------------------ login
  function showLogin(message) {
    $("board").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("password").value = "";
    $("username").focus();
  }

  async function login(ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    $("login-button").disabled = true;
    try {
      const signed = await window.MadoguchiSignIn.login($("username").value, $("password").value, ALLOWED_ROLES);
      if (signed.error) return showLogin(tr(signed.error));
      token = signed.body.access_token;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("password").value = "";
      startBoard();
    } catch (e) {
      showLogin(tr("login_failed"));
    } finally {
      $("login-button").disabled = false;
    }
  }

  function logout(message) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (retryTimer) clearTimeout(retryTimer);
    if (ws) { ws.onclose = null; ws.close(1000); ws = null; }
    lastSnapshot = null;
    showLogin(message);
  }

  // ------------------------------------------------------------------ feed
  function setConn(state) {
    connState = state;
    const node = $("conn");
    node.textContent = tr(`conn_${state}`);
    node.className = `conn conn-${state}`;
  }

  function startBoard() {
    $("login").hidden = true;
    $("board").hidden = false;
    connect();
  }

  function connect() {
    if (!token) return showLogin("");
    setConn("connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const sock = new WebSocket(`${scheme}://${location.host}/monitor/feed`);
    ws = sock;
    sock.onopen = () => sock.send(JSON.stringify({ type: "auth", token }));
    sock.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      lastMessageAt = Date.now();
      if (msg.type === "hello") { retryMs = 1000; setConn("online"); }
      else if (msg.type === "snapshot") { setConn("online"); lastSnapshot = msg; render(msg); }
      else if (msg.type === "token") { token = msg.access_token; sessionStorage.setItem(TOKEN_KEY, token); }
      else if (msg.type === "error") {
        sock.onclose = null;
        logout(msg.status === 403 ? tr("not_allowed") : tr("session_expired"));
      }
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      if (ev.code === 4401) return logout(tr("session_expired"));
      if (ev.code === 4403) return logout(tr("not_allowed"));
      setConn("offline");
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }

  // ------------------------------------------------------------------ rendering
  function fill(tbody, rows, emptyText, cols) {
    tbody.replaceChildren(...(rows.length ? rows : [el("tr", { cls: "empty" }, el("td", { text: emptyText, colspan: cols }))]));
  }

  function alertText(a) {
    const svc = svcName(a, "service_ja", "service_en");
    const limit = (text) => paren(`${tr("threshold")} ${text}`);
    if (a.kind === "kiosk_offline") {
      return [tr("alert_kiosk_offline"), `${where(a.place)} · ${tr("kiosk_no")} #${a.kiosk_id}`,
        `${tr("offline_for")} ${fmtDur(a.value)}`];
    }
    if (a.kind === "quality") {
      const loss = a.metric === "loss_pct";
      const unit = loss ? "%" : " ms";
      const fmt = (v) => `${fmtNum(v, loss ? 1 : 0)}${unit}`;
      return [tr("alert_quality"), `${where(a.place)} · ${svc}`,
        `${tr("side_of")(a.side)} ${tr(`metric_${a.metric}`)} ${fmt(a.value)}${limit(fmt(a.threshold))}`];
    }
    if (a.kind === "long_wait") {
      return [tr("alert_long_wait"), `${where(a.place)} · ${svc}`,
        `${tr("waiting_for")} ${fmtDur(a.value)}${limit(fmtDur(a.threshold))}`];
    }
    const kioskAt = `${where(a.place)} · ${tr("kiosk_no")} #${a.kiosk_id}`;
    if (a.kind === "device" || a.kind === "printer") {
      return [tr(`alert_${a.kind}`), kioskAt, `${tr(`dev_${a.device}`)}: ${tr(`ds_${a.state}`)}`];
    }
    if (a.kind === "version_behind") {
      return [tr("alert_version_behind"), kioskAt, `${a.version}${paren(`${tr("expected")} ${a.expected}`)}`];
    }
    if (a.kind === "health_stale") {
      return [tr("alert_health_stale"), kioskAt, `${tr("last_report")} ${fmtDur(a.value)}${limit(fmtDur(a.threshold))}`];
    }
    return [tr(`alert_${a.kind}`), `${where(a.place)} · ${svc}`, `${tr("not_connected_for")} ${fmtDur(a.value)}`];
  }

  function renderAlerts(alerts) {
    const list = $("alerts");
    if (!alerts.length) {
      list.replaceChildren(el("li", { cls: "alert ok", text: tr("no_alerts") }));
      return;
    }
    list.replaceChildren(...alerts.map((a) => {
      const [head, ...rest] = alertText(a);
      return el("li", { cls: `alert ${a.severity}`, data: { kind: a.kind, key: a.key } },
        el("span", { cls: "badge", text: a.severity === "critical" ? "!!" : "!" }),
        el("strong", { text: head }), el("span", { text: rest.join(" — ") }));
    }));
  }

  function qualityCells(q, th) {
    if (!q) return [tr("none"), tr("none"), tr("none"), tr("none")].map((t) => el("td", { cls: "num", text: t }));
    const bad = (v, limit) => v !== null && v !== undefined && v > limit && q.age_s <= 30;
    return [
      el("td", { cls: `num${bad(q.rtt_ms, th.quality_alert_rtt_ms) ? " bad" : ""}`, text: fmtNum(q.rtt_ms, 0) }),
      el("td", { cls: `num${bad(q.loss_pct, th.quality_alert_loss_pct) ? " bad" : ""}`, text: fmtNum(q.loss_pct, 1) }),
      el("td", { cls: "num", text: fmtNum(q.bitrate_kbps, 0) }),
      el("td", { cls: "num", text: fmtNum(q.fps, 0) }),
    ];
  }

  function renderSessions(snap) {
    const rows = [];
    for (const s of snap.sessions) {
      const dur = s.media === "connected" ? fmtDur(s.duration_s) : `${fmtDur(s.duration_s)} ${tr("media_connecting")}`;
      const first = el("tr", { cls: `session${s.bad_quality ? " bad-row" : ""}`, data: { session: s.id } },
        el("td", { rowspan: 2, cls: "place" }, el("div", { text: place(s.place) }),
          el("div", { cls: "muted", text: muni(s.place) })),
        el("td", { rowspan: 2 }, el("div", { text: svcName(s, "service_ja", "service_en") }),
          // the resident's language when it is not Japanese (from the server's language packs)
          ...(s.language && s.language !== "ja"
            ? [el("div", { cls: "muted lang", text: svcName(s, "language_ja", "language_en") || s.language })] : [])),
        el("td", { rowspan: 2, cls: "num", text: dur }),
        el("td", { cls: "side", text: tr("side_kiosk") }), ...qualityCells(s.kiosk, snap.thresholds));
      const second = el("tr", { cls: "session-2" },
        el("td", { cls: "side", text: tr("side_staff") }), ...qualityCells(s.staff, snap.thresholds));
      rows.push(first, second);
    }
    fill($("sessions"), rows, tr("no_sessions"), 8);
  }

  function kioskSub(k) {
    const name = k.name && !k.name.startsWith(k.place.branch_ja) ? ` ${k.name}` : "";
    return `${muni(k.place)} · #${k.id}${name}`;
  }

  function renderKiosks(snap) {
    const order = { offline: 0, online: 1, not_enrolled: 2 };
    const kiosks = [...snap.kiosks].sort((a, b) => order[a.state] - order[b.state] || a.id - b.id);
    fill($("kiosks"), kiosks.map((k) => el("tr", { cls: `kiosk state-${k.state}`, data: { kiosk: k.id, state: k.state } },
      el("td", { cls: "state", text: tr(`state_${k.state}`) }),
      el("td", { cls: "place" }, el("div", { text: place(k.place) }),
        el("div", { cls: "muted", text: kioskSub(k) })),
      el("td", { text: tr(`screen_${k.screen}`) }),
      el("td", { text: k.state === "online" ? tr("now") :
        (k.offline_s !== null ? `${fmtDur(k.offline_s)} ${tr("ago")}` : fmtTime(k.last_seen_at)),
        title: k.last_seen_at || "" }),
      el("td", { cls: "muted version", text: (k.health && k.health.app_version) || k.app_version || tr("none") }),
      healthCell(k.health))), tr("none"), 6);
  }

  // one pill per installed device (✓ when working, the fault otherwise), then the RTT and the report's age
  function healthCell(h) {
    if (!h) return el("td", { cls: "health muted", text: tr("none") });
    const pills = h.devices.filter((d) => d.state !== "not_installed").map((d) => el("span", {
      cls: `dev dev-${d.state === "ok" ? "ok" : "bad"}`, data: { device: d.device, state: d.state },
      title: d.detail, text: d.state === "ok" ? `${tr(`dev_${d.device}`)} ✓` : `${tr(`dev_${d.device}`)}: ${tr(`ds_${d.state}`)}`,
    }));
    const rtt = h.rtt_ms === null ? "" : `RTT ${fmtNum(h.rtt_ms, 0)} ms · `;
    return el("td", { cls: "health" }, ...pills,
      el("div", { cls: "muted", text: `${rtt}${tr("reported")} ${fmtDur(h.age_s)} ${tr("ago")}` }));
  }

  function renderQueues(snap) {
    fill($("queues"), snap.queues.map((q) => {
      const longBad = q.longest_wait_s !== null && q.longest_wait_s > snap.thresholds.wait_alert_s;
      return el("tr", { data: { service: q.service_code } },
        el("td", { text: svcName(q, "name_ja", "name_en") }),
        el("td", { cls: `num big${q.waiting ? " warn" : ""}`, text: q.waiting }),
        el("td", { cls: `num${longBad ? " bad" : ""}`, text: q.longest_wait_s === null ? tr("none") : fmtDur(q.longest_wait_s) }),
        el("td", { cls: `num${q.on_duty === 0 ? " warn" : ""}`, text: `${q.available} / ${q.on_duty}` }),
        // callbacks not yet done: a count only, the IT monitor never sees a number
        el("td", { cls: "num", data: { callbacks: q.callbacks }, text: q.callbacks ?? 0 }));
    }), tr("none"), 5);
  }

  function renderStaff(snap) {
    fill($("staff"), snap.staff.map((s) => el("tr", { cls: `staff status-${s.status}`, data: { staff: s.id } },
      el("td", { text: s.name }),
      el("td", { cls: "muted", text: lang === "ja" ? s.municipality_ja : s.municipality_en }),
      el("td", { cls: "status" }, el("span", { cls: `pill pill-${s.status}`, text: tr(`status_${s.status}`) }),
        el("span", { cls: "muted", text: s.reason && I18N[lang][`reason_${s.reason}`] ? ` ${tr(`reason_${s.reason}`)}` : "" })))),
      tr("none"), 3);
  }

  function render(snap) {
    const c = snap.counts;
    $("c-kiosks").textContent = `${c.kiosks_online}/${c.kiosks}`;
    $("c-staff").textContent = c.staff_available;
    $("c-waiting").textContent = c.waiting;
    $("c-sessions").textContent = c.live_sessions;
    $("c-alerts").textContent = c.alerts;
    $("c-alerts-box").classList.toggle("has-alerts", c.alerts > 0);
    renderAlerts(snap.alerts);
    renderSessions(snap);
    renderKiosks(snap);
    renderQueues(snap);
    renderStaff(snap);
  }

  function tick() {
    const now = new Date();
    $("clock").textContent = now.toLocaleTimeString(lang === "ja" ? "ja-JP" : "en-GB", { hour12: false });
    const stale = !$("board").hidden && lastMessageAt > 0 && Date.now() - lastMessageAt > STALE_AFTER_MS;
    $("stale").hidden = !stale;
    document.body.classList.toggle("is-stale", stale);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    for (const b of document.querySelectorAll(".lang-toggle")) b.addEventListener("click", toggleLang);
    $("logout").addEventListener("click", () => logout(""));
    applyStatic();
    setInterval(tick, 1000);
    tick();
    if (token) startBoard(); else showLogin("");
  });
})();
