// Madoguchi guest page: camera/microphone check, the lobby, then the call (a full mesh with the kiosk and
// the specialist, each link a plain RTCPeerConnection). Speaks the /ws protocol as a guest principal
// (docs/protocol.md §Guests). SDP is exchanged complete (non-trickle): the other ends are aiortc, which
// neither sends nor takes trickled candidates over our signalling. No build step, no external script.
(() => {
  "use strict";
  const LANG_KEY = "madoguchi.guest.lang";
  const I18N = {
    ja: {
      title: "オンライン窓口への参加", lang_toggle: "English", check_title: "カメラとマイクの確認",
      check_hint: "映像と音声を確認してから、待合室に入ってください。", camera: "カメラ", microphone: "マイク",
      checking: "確認中…", ok: "OK", failed: "使えません", enter: "待合室に入る", lobby_title: "待合室",
      lobby_wait: "担当者が入室を許可するまでお待ちください。",
      consent_wait: "担当者が入室を許可しました。住民の方の同意をお待ちください。",
      refused_staff: "担当者が今回の参加をお断りしました。", refused_resident: "住民の方が今回の参加を望みませんでした。",
      refused_title: "参加できませんでした", ended_title: "通話は終了しました", ended: "ご参加ありがとうございました。",
      left_title: "退出しました", left: "通話から退出しました。", lost_title: "接続が切れました",
      lost: "サーバーとの接続が切れました。もう一度参加するには、招待した職員に新しいリンクを依頼してください。", chat_placeholder: "メッセージ", send: "送信",
      leave: "退出する", me: "あなた", media_error: "カメラまたはマイクを使えません: ",
      link_error: "リンクが使えません: ", conn_error: "サーバーに接続できません。", resident: "住民の方",
      specialist: "担当者", third_party: "同席者", supervisor: "監督者", guest: "ゲスト",
      family: "家族", supporter: "支援者", guardian: "後見人", sign_interpreter: "手話通訳", interpreter: "通訳",
      as: "{name}（{role}）として参加します",
    },
    en: {
      title: "Join the online service window", lang_toggle: "日本語", check_title: "Camera and microphone check",
      check_hint: "Check your picture and sound, then enter the waiting room.", camera: "Camera",
      microphone: "Microphone", checking: "checking…", ok: "OK", failed: "not available", enter: "Enter the waiting room",
      lobby_title: "Waiting room", lobby_wait: "Please wait until the staff member lets you in.",
      consent_wait: "The staff member let you in. Waiting for the resident to agree.",
      refused_staff: "The staff member declined your participation this time.",
      refused_resident: "The resident preferred that you do not join this time.",
      refused_title: "You could not join", ended_title: "The call has ended", ended: "Thank you for taking part.",
      left_title: "You left", left: "You left the call.", lost_title: "Connection lost",
      lost: "The connection to the server was lost. To join again, ask the staff member for a new link.", chat_placeholder: "Message", send: "Send", leave: "Leave",
      me: "You", media_error: "Camera or microphone not available: ", link_error: "The link cannot be used: ",
      conn_error: "Cannot reach the server.", resident: "Resident", specialist: "Staff", third_party: "Colleague",
      supervisor: "Supervisor", guest: "Guest", family: "Family", supporter: "Supporter", guardian: "Guardian",
      sign_interpreter: "Sign-language interpreter", interpreter: "Interpreter", as: "Joining as {name} ({role})",
    },
  };
  let lang = new URLSearchParams(location.search).get("lang") || localStorage.getItem(LANG_KEY) || "ja";
  if (!I18N[lang]) lang = "ja";
  const t = (key) => I18N[lang][key] || I18N.ja[key] || key;
  const $ = (id) => document.getElementById(id);
  const token = decodeURIComponent(location.pathname.split("/").pop() || "");

  // Everything the page knows; exposed (read-only use) for tests and the benchmark.
  const st = {
    stage: "check", ws: null, me: "", pass: null, ice: [], policy: "all", session: null, local: null,
    pcs: new Map(), channels: new Map(), names: new Map(), chat: [], seq: 0, lastState: null, refusedBy: null,
    sessionStartAt: null, firstFrameAt: new Map(), errors: [],
  };
  window.madoguchiGuest = st;

  function applyLang() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    renderStatus();
    st.names.forEach((_, peer) => labelTile(peer));
  }
  function show(stage) {
    st.stage = stage;
    for (const id of ["check", "lobby", "call", "done"]) $(id).hidden = id !== stage;
  }
  function renderStatus() {
    if (st.pass) $("me").textContent = t("as").replace("{name}", st.pass.display_name).replace("{role}", t(st.pass.role));
    const s = st.lastState;
    if (st.stage === "lobby") $("lobby-status").textContent = s === "awaiting_consent" ? t("consent_wait") : t("lobby_wait");
    if (st.stage === "done") {
      const kind = st.doneKind;
      $("done-title").textContent = t(`${kind}_title`);
      $("done-text").textContent = kind === "refused" ? t(st.refusedBy === "resident" ? "refused_resident" : "refused_staff")
        : t(kind);
    }
  }
  function finish(kind) {
    st.doneKind = kind;
    closeAll(kind === "left");
    show("done");
    renderStatus();
  }

  // ------------------------------------------------------------ camera and microphone check
  async function check() {
    try {
      st.local = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
        // a sign-language interpreter needs the hands: at least VGA at 15 fps
        video: { width: { ideal: 640, min: 640 }, height: { ideal: 480, min: 480 }, frameRate: { ideal: 15, min: 15 } },
      });
    } catch (err) {
      $("check-error").textContent = t("media_error") + (err && err.name ? err.name : String(err));
      for (const id of ["cam-status", "mic-status"]) mark(id, false);
      return;
    }
    const v = st.local.getVideoTracks()[0], a = st.local.getAudioTracks()[0];
    if (v) v.contentHint = "motion";
    mark("cam-status", !!v, v ? `${v.getSettings().width}×${v.getSettings().height}` : "");
    mark("mic-status", !!a, a ? a.label : "");
    $("preview").srcObject = st.local;
    $("self").srcObject = st.local;
    $("enter").disabled = !(v && a);
  }
  function mark(id, ok, detail) {
    const li = $(id);
    li.dataset.state = ok ? "ok" : "bad";
    const b = li.querySelector(".v");
    b.removeAttribute("data-i18n");
    b.textContent = ok ? `${t("ok")}${detail ? " (" + detail + ")" : ""}` : t("failed");
  }

  // ------------------------------------------------------------ lobby: trade the link, open the socket
  async function enter() {
    $("enter").disabled = true;
    let r;
    try {
      r = await fetch("/api/guest/redeem", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token }) });
    } catch (err) {
      $("check-error").textContent = t("conn_error");
      $("enter").disabled = false;
      return;
    }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const d = body.detail || {};
      $("check-error").textContent = t("link_error") + (lang === "ja" ? d.message_ja : d.message_en || d.reason || r.status);
      return;
    }
    st.pass = body;
    show("lobby");
    renderStatus();
    connect();
  }
  function connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`, "madoguchi.v1");
    st.ws = ws;
    ws.onopen = () => send({ type: "auth", token: st.pass.guest_token, app_version: "guest-web/1" });
    ws.onmessage = (ev) => { let m; try { m = JSON.parse(ev.data); } catch { return; } onMessage(m); };
    // a guest whose socket closes has left (the server says so to the call); a new link brings them back
    ws.onclose = () => { if (st.stage === "lobby" || st.stage === "call") finish("lost"); };
    st.pinger = setInterval(() => send({ type: "ping" }), 10000);
  }
  function send(msg) {
    if (!st.ws || st.ws.readyState !== WebSocket.OPEN) return null;
    msg.id = msg.id || `g${++st.seq}`;
    st.ws.send(JSON.stringify(msg));
    return msg.id;
  }
  function onMessage(m) {
    switch (m.type) {
      case "welcome": st.me = m.peer; st.ice = m.ice_servers || []; st.policy = m.ice_transport_policy || "all"; break;
      case "guest.state":
        st.lastState = m.state;
        if (m.state === "refused") { st.refusedBy = m.by; finish("refused"); }
        else if (m.state === "ended") finish("ended");
        else renderStatus();
        break;
      case "session.start": onSessionStart(m); break;
      case "rtc.offer": answer(m.sender, m.sdp).catch(fail); break;
      case "rtc.answer": {
        const pc = st.pcs.get(m.sender);
        if (pc) pc.setRemoteDescription({ type: "answer", sdp: m.sdp }).catch(fail);
        break;
      }
      case "participant.joined": st.names.set(m.participant.peer, m.participant); labelTile(m.participant.peer); break;
      case "participant.left": dropPeer(m.peer); break;
      case "session.ended": finish("ended"); break;
      case "error": st.errors.push(m); break;
      default: break;
    }
  }
  const fail = (err) => { st.errors.push({ message: String(err) }); console.warn(err); };

  // ------------------------------------------------------------ the call
  function onSessionStart(m) {
    st.sessionStartAt = performance.now();
    st.session = m.session_id;
    st.lastState = "admitted";
    if (m.ice_servers) st.ice = m.ice_servers;  // this call's own (TURN credentials minted for it)
    for (const p of m.participants) if (p.peer !== st.me) st.names.set(p.peer, p);
    show("call");
    for (const peer of m.offer_to) offer(peer).catch(fail);
  }
  function newPc(peer) {
    const old = st.pcs.get(peer);
    if (old) old.close();
    const pc = new RTCPeerConnection({ iceServers: st.ice.map((s) => ({ urls: s.urls, username: s.username || undefined,
      credential: s.credential || undefined })), bundlePolicy: "max-bundle",
      iceTransportPolicy: st.policy === "relay" ? "relay" : "all" });
    st.pcs.set(peer, pc);
    pc.ontrack = (ev) => attach(peer, ev.track);
    pc.ondatachannel = (ev) => { if (ev.channel.label === "madoguchi") wire(peer, ev.channel); };
    watchFirstFrame(peer, pc);
    return pc;
  }
  function addLocal(pc) {
    if (!st.local) return;
    for (const track of st.local.getTracks()) {
      // a sign-language interpreter's handshapes need the pixels: under CPU or network strain the browser drops
      // frames, not resolution ("detail"; by default Chromium halved a VGA camera on a busy PC)
      if (track.kind === "video" && "contentHint" in track) track.contentHint = "detail";
      const sender = pc.addTrack(track, st.local);
      if (track.kind === "video") keepResolution(sender);
    }
  }
  async function keepResolution(sender) {
    try {
      const params = sender.getParameters();
      params.degradationPreference = "maintain-resolution";
      await sender.setParameters(params);
    } catch (e) { /* a browser without the setting: the content hint above says the same */ }
  }
  // complete SDP: wait for ICE gathering (aiortc takes no trickled candidates); bounded, then send what there is
  function gathered(pc, ms = 3000) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { pc.removeEventListener("icegatheringstatechange", check); clearTimeout(timer); resolve(); };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      const timer = setTimeout(done, ms);
      pc.addEventListener("icegatheringstatechange", check);
    });
  }
  async function offer(peer) {
    const pc = newPc(peer);
    addLocal(pc);
    wire(peer, pc.createDataChannel("madoguchi", { ordered: true }));
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    send({ type: "rtc.offer", session_id: st.session, to: peer, sdp: pc.localDescription.sdp });
  }
  async function answer(peer, sdp) {
    const pc = newPc(peer);
    await pc.setRemoteDescription({ type: "offer", sdp });
    addLocal(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    send({ type: "rtc.answer", session_id: st.session, to: peer, sdp: pc.localDescription.sdp });
  }
  function wire(peer, ch) {
    st.channels.set(peer, ch);
    ch.onopen = () => { ch.hb = setInterval(() => { if (ch.readyState === "open") ch.send('{"kind":"hb"}'); }, 1000); };
    ch.onclose = () => clearInterval(ch.hb);
    ch.onmessage = (ev) => {
      let d; try { d = JSON.parse(ev.data); } catch { return; }
      if (d.kind === "chat" && typeof d.text === "string") addChat(peer, d.text);
    };
  }
  function tile(peer) {
    let el = document.querySelector(`.tile[data-peer="${CSS.escape(peer)}"]`);
    if (!el) {
      el = document.createElement("div");
      el.className = "tile";
      el.dataset.peer = peer;
      const v = document.createElement("video");
      v.autoplay = true; v.playsInline = true;
      v.srcObject = new MediaStream();
      const label = document.createElement("span");
      label.className = "label";
      el.append(v, label);
      $("remotes").append(el);
      labelTile(peer, el);
    }
    return el;
  }
  function labelTile(peer, el) {
    el = el || document.querySelector(`.tile[data-peer="${CSS.escape(peer)}"]`);
    if (!el) return;
    const p = st.names.get(peer);
    const role = p ? (p.role === "guest" && p.guest_role ? t(p.guest_role) : t(p.role)) : "";
    el.querySelector(".label").textContent = p && p.display_name
      ? (lang === "ja" ? `${p.display_name}（${role}）` : `${p.display_name} (${role})`) : role;
  }
  function attach(peer, track) {
    const v = tile(peer).querySelector("video");
    v.srcObject.addTrack(track);
    v.play().catch(() => {});
  }
  function watchFirstFrame(peer, pc) {
    // the first decoded video frame from each peer, from the inbound-rtp stats (session.start → this)
    const poll = setInterval(async () => {
      if (pc.connectionState === "closed") { clearInterval(poll); return; }
      const report = await pc.getStats().catch(() => null);
      if (!report) return;
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded > 0 && !st.firstFrameAt.has(peer)) {
          st.firstFrameAt.set(peer, performance.now());
          clearInterval(poll);
        }
      });
    }, 10);
  }
  function dropPeer(peer) {
    const ch = st.channels.get(peer);
    if (ch) clearInterval(ch.hb);
    st.channels.delete(peer);
    const pc = st.pcs.get(peer);
    if (pc) pc.close();
    st.pcs.delete(peer);
    const el = document.querySelector(`.tile[data-peer="${CSS.escape(peer)}"]`);
    if (el) el.remove();
  }
  function closeAll(sayBye) {
    for (const [peer, ch] of st.channels) {
      if (sayBye && ch.readyState === "open") ch.send('{"kind":"bye"}');
      clearInterval(ch.hb);
      st.channels.delete(peer);
    }
    for (const pc of st.pcs.values()) pc.close();
    st.pcs.clear();
    if (st.local) st.local.getTracks().forEach((tr) => tr.stop());
    clearInterval(st.pinger);
  }
  function addChat(who, text) {
    st.chat.push({ who, text });
    const line = document.createElement("div");
    const w = document.createElement("span");
    w.className = "who";
    const p = st.names.get(who);
    w.textContent = who === "me" ? t("me") : (p && p.display_name) || (p ? t(p.role) : who);
    const body = document.createElement("span");
    body.textContent = text;
    line.append(w, body);
    $("chat-log").append(line);
    $("chat-log").scrollTop = $("chat-log").scrollHeight;
  }
  function sendChat(text) {
    let sent = 0;
    for (const ch of st.channels.values()) {
      if (ch.readyState === "open") { ch.send(JSON.stringify({ kind: "chat", text })); sent += 1; }
    }
    if (sent) addChat("me", text);
    return sent;
  }
  st.sendChat = sendChat;
  // per remote peer: inbound video/audio and what we send (for tests and the benchmark)
  st.stats = async () => {
    const out = {};
    for (const [peer, pc] of st.pcs) {
      const r = await pc.getStats();
      const row = { framesDecoded: 0, audioPackets: 0, state: pc.connectionState };
      r.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") Object.assign(row, { framesDecoded: s.framesDecoded || 0,
          frameWidth: s.frameWidth, frameHeight: s.frameHeight, fps: s.framesPerSecond });
        if (s.type === "inbound-rtp" && s.kind === "audio") row.audioPackets = s.packetsReceived || 0;
        if (s.type === "outbound-rtp" && s.kind === "video") Object.assign(row, { sentWidth: s.frameWidth,
          sentHeight: s.frameHeight, sentFps: s.framesPerSecond, framesEncoded: s.framesEncoded });
      });
      out[peer] = row;
    }
    return out;
  };

  // ------------------------------------------------------------ wiring
  document.addEventListener("DOMContentLoaded", () => {
    $("lang").addEventListener("click", () => { lang = lang === "ja" ? "en" : "ja"; localStorage.setItem(LANG_KEY, lang); applyLang(); });
    $("enter").addEventListener("click", enter);
    $("leave").addEventListener("click", () => {
      if (st.session !== null) send({ type: "session.leave", session_id: st.session });
      finish("left");
    });
    $("chat-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $("chat-input").value.trim();
      if (text && sendChat(text)) $("chat-input").value = "";
    });
    applyLang();
    check();
  });
})();
