// The sandbox chat page: polls /api/state and acts as the chosen simulated user.
// Plain JS, no build step. Every visible word comes from /api/strings (bot/core/locales/*/sandbox.toml).
"use strict";

const POLL_MS = 500;
const $ = (id) => document.getElementById(id);

const page = {
  lang: localStorage.getItem("sandbox.lang") || "",
  userId: Number(localStorage.getItem("sandbox.user")) || null,
  s: {},               // strings of the current language
  state: null,
  renderedChat: "",    // JSON of the messages last drawn, to redraw only on change
  seenAlerts: {},      // user id -> Set of callback query ids already shown
  keyboardOpen: true,
  stick: true,         // keep the chat scrolled to the newest message
  polling: false,
  pollAgain: false,    // a poll was asked for while one was under way
  failed: false,
};

function fmt(key, params) {
  let text = page.s[key] || key;
  for (const [name, value] of Object.entries(params || {})) text = text.split("{" + name + "}").join(value);
  return text;
}

async function api(method, path, body, headers) {
  const opts = { method, headers: headers || {} };
  if (body !== undefined) {
    if (body instanceof Blob) opts.body = body;
    else { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  }
  const sep = path.includes("?") ? "&" : "?";
  const res = await fetch(path + sep + "lang=" + encodeURIComponent(page.lang), opts);
  const data = await res.json();
  if (!data.ok) {
    const err = new Error(data.message || data.error || String(res.status));
    err.key = data.error;
    throw err;
  }
  return data;
}

// ---------------------------------------------------------------- strings and static labels
async function loadStrings() {
  const data = await api("GET", "/api/strings");
  page.lang = data.lang;
  page.s = data.strings;
  document.documentElement.lang = page.lang === "zh" ? "zh-CN" : "en";
  document.title = fmt("title");
  $("title").textContent = fmt("title");
  $("subtitle").textContent = fmt("subtitle");
  $("lang").textContent = fmt("language");
  $("identity-label").textContent = fmt("identity");
  $("clock-label").textContent = fmt("clock");
  $("plus-hour").textContent = fmt("plus_hour");
  $("plus-day").textContent = fmt("plus_day");
  $("next-monday").textContent = fmt("next_monday");
  $("invite-title").textContent = fmt("invite_title");
  $("text").placeholder = fmt("input_placeholder");
  $("send").textContent = fmt("send");
  $("attach").title = fmt("attach");
  $("attach").setAttribute("aria-label", fmt("attach"));
  page.renderedChat = "";
  if (page.state) render(page.state);
}

// ---------------------------------------------------------------- toast
let toastTimer = null;
function toast(text, sticky) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  if (!sticky) toastTimer = setTimeout(() => { el.hidden = true; }, 3500);
}

// ---------------------------------------------------------------- rich text (Telegram entities)
const SAFE_URL = /^(https?:|tg:|mailto:)/i;

function wrap(node, entity, piece) {
  let el;
  switch (entity.type) {
    case "bold": el = document.createElement("b"); break;
    case "italic": el = document.createElement("i"); break;
    case "underline": el = document.createElement("u"); break;
    case "strikethrough": el = document.createElement("s"); break;
    case "code": el = document.createElement("code"); break;
    case "pre": el = document.createElement("code"); el.className = "pre"; break;
    case "spoiler": el = document.createElement("span"); el.className = "spoiler"; break;
    case "blockquote": el = document.createElement("span"); el.className = "quote"; break;
    case "text_link":
    case "url": {
      const href = entity.type === "url" ? piece : entity.url;
      if (!SAFE_URL.test(href || "")) return node;
      el = document.createElement("a"); el.href = href; el.target = "_blank"; el.rel = "noopener";
      break;
    }
    default: return node;
  }
  el.append(node);
  return el;
}

// Like Telegram, a /command in the bot's text is a link that sends it.
const COMMAND = /(^|[\s(（：:])(\/[a-z][a-z0-9_]{0,31})(?![\w/])/g;

function commandLinks(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(COMMAND)) {
    const start = m.index + m[1].length;
    frag.append(text.slice(last, start));
    const a = document.createElement("a");
    a.href = "#"; a.className = "cmd"; a.textContent = m[2];
    a.onclick = (ev) => { ev.preventDefault(); sendText(m[2]); };
    frag.append(a);
    last = start + m[2].length;
  }
  frag.append(text.slice(last));
  return frag;
}

function rich(text, entities, commands) {
  const frag = document.createDocumentFragment();
  if (!entities || !entities.length) { frag.append(commands ? commandLinks(text) : text); return frag; }
  // Entity offsets count UTF-16 code units, exactly like JS string indices.
  const cuts = new Set([0, text.length]);
  for (const e of entities) { cuts.add(e.offset); cuts.add(e.offset + e.length); }
  const points = [...cuts].filter((x) => x >= 0 && x <= text.length).sort((a, b) => a - b);
  for (let i = 0; i < points.length - 1; i++) {
    const a = points[i], b = points[i + 1];
    const piece = text.slice(a, b);
    let node = document.createTextNode(piece);
    for (const e of entities) if (e.offset <= a && e.offset + e.length >= b) node = wrap(node, e, piece);
    frag.append(node);
  }
  return frag;
}

// ---------------------------------------------------------------- drawing
function label(ident) {
  if (ident.kind === "stranger") return fmt("stranger_name") + " · " + fmt("kind_stranger");
  // the newcomer is an ordinary member once bound
  const kind = ident.kind === "newcomer" && ident.bound ? "member" : ident.kind;
  let text = ident.name + " · " + fmt("kind_" + kind);
  if (ident.sector && kind !== "staff") text += " · " + ident.sector;
  return text;
}

function renderIdentities(state) {
  const select = $("identity");
  const wanted = state.identities.map((i) => i.user_id + ":" + label(i)).join("|");
  if (select.dataset.drawn !== wanted) {
    select.replaceChildren(...state.identities.map((i) => {
      const opt = document.createElement("option");
      opt.value = String(i.user_id);
      opt.textContent = label(i);
      return opt;
    }));
    select.dataset.drawn = wanted;
  }
  select.value = String(state.me.user_id);
}

function duration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
  const parts = [];
  if (d) parts.push(fmt("dur_days", { n: d }));
  if (h) parts.push(fmt("dur_hours", { n: h }));
  if (m && !d) parts.push(fmt("dur_minutes", { n: m }));
  return parts.join(" ");
}

function renderClock(clock) {
  const when = new Date(clock.now);
  const text = new Intl.DateTimeFormat(page.lang === "zh" ? "zh-CN" : "en-GB", {
    timeZone: clock.timezone, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
    hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(when);
  $("clock-now").textContent = text;
  $("clock-offset").textContent = clock.offset_seconds >= 60
    ? fmt("clock_offset", { offset: duration(clock.offset_seconds) }) : fmt("clock_real");
}

function renderInvite(state) {
  const box = $("invite");
  const inv = state.invite;
  if (!inv) { box.hidden = true; return; }
  box.hidden = false;
  const mine = state.me.user_id === inv.user_id;
  box.classList.toggle("compact", !mine);
  $("invite-text").textContent = fmt(mine ? "invite_text" : "invite_pending", { name: inv.name });
  $("invite-link").textContent = inv.link;
  $("invite-hint").textContent = fmt("invite_hint", { name: inv.name });
  const action = $("invite-action");
  if (mine) {
    action.textContent = fmt("invite_send");
    action.onclick = () => sendText(inv.command);
  } else {
    action.textContent = fmt("invite_switch", { name: inv.name });
    action.onclick = () => switchTo(inv.user_id);
  }
}

function renderMessage(m) {
  const row = document.createElement("div");
  row.className = "msg " + (m.from === "bot" ? "bot" : "me");
  row.dataset.id = String(m.id);
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (m.photo) {
    const img = document.createElement("img");
    img.src = m.photo; img.alt = ""; img.loading = "lazy";
    img.onclick = () => window.open(m.photo, "_blank");
    img.onload = followNewest;
    bubble.append(img);
  }
  if (m.document) {
    const a = document.createElement("a");
    a.className = "doc"; a.href = m.document.url; a.download = m.document.name;
    const kb = Math.max(1, Math.round(m.document.size / 1024));
    a.textContent = "📄 " + m.document.name + " · " + kb + " KB · " + fmt("download");
    bubble.append(a);
  }
  const body = m.text || m.caption;
  if (body) {
    const p = document.createElement("div");
    p.className = "text";
    p.append(rich(body, m.text ? m.entities : m.caption_entities, m.from === "bot"));
    bubble.append(p);
  }
  if (m.time || m.edited) {  // the bot-clock time it was sent at; "edited" only when its text changed
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (m.edited ? fmt("edited") + " " : "") + (m.time || "");
    bubble.append(meta);
  }
  row.append(bubble);
  if (m.buttons && m.buttons.length) {
    const kb = document.createElement("div");
    kb.className = "inline-kb";
    for (const r of m.buttons) {
      const line = document.createElement("div");
      line.className = "kb-row";
      for (const b of r) {
        let el;
        if (b.url) {
          el = document.createElement("a");
          el.href = SAFE_URL.test(b.url) ? b.url : "#"; el.target = "_blank"; el.rel = "noopener";
        } else {
          el = document.createElement("button");
          el.type = "button";
          if (b.data !== undefined) el.onclick = () => press(m.id, b.data);
          else el.disabled = true;
        }
        el.className = "kb-btn";
        el.textContent = b.text;
        line.append(el);
      }
      kb.append(line);
    }
    row.append(kb);
  }
  return row;
}

function renderChat(state) {
  const drawn = JSON.stringify([state.me.user_id, page.lang, state.messages]);
  if (drawn === page.renderedChat) return;
  const chat = $("chat");
  const nearBottom = page.stick || !page.renderedChat;
  page.renderedChat = drawn;
  if (!state.messages.length) {
    const empty = document.createElement("div");
    empty.className = "empty";
    empty.textContent = fmt("empty_chat");
    chat.replaceChildren(empty);
  } else {
    chat.replaceChildren(...state.messages.map(renderMessage));
  }
  if (nearBottom) chat.scrollTop = chat.scrollHeight;
  page.stick = nearBottom;
}

function renderKeyboard(state) {
  const box = $("keyboard");
  const toggle = $("kb-toggle");
  const kb = state.keyboard;
  const drawn = JSON.stringify(kb);
  if (box.dataset.drawn !== drawn) {
    box.dataset.drawn = drawn;
    box.replaceChildren();
    if (kb) {
      for (const r of kb.rows) {
        const line = document.createElement("div");
        line.className = "kb-row";
        for (const text of r) {
          const b = document.createElement("button");
          b.type = "button"; b.className = "kb-btn"; b.textContent = text;
          b.onclick = () => { sendText(text); if (kb.one_time) { page.keyboardOpen = false; renderKeyboard(page.state); } };
          line.append(b);
        }
        box.append(line);
      }
      $("text").placeholder = kb.placeholder || fmt("input_placeholder");
    } else {
      $("text").placeholder = fmt("input_placeholder");
    }
  }
  toggle.hidden = !kb;
  toggle.title = page.keyboardOpen ? fmt("keyboard_hide") : fmt("keyboard_show");
  box.hidden = !kb || !page.keyboardOpen;
}

function renderAlerts(state) {
  const uid = state.me.user_id;
  let seen = page.seenAlerts[uid];
  const fresh = !seen;
  if (!seen) seen = page.seenAlerts[uid] = new Set();
  for (const a of state.alerts) {
    if (seen.has(a.id)) continue;
    seen.add(a.id);
    if (!fresh) toast(a.text);
  }
}

function render(state) {
  renderIdentities(state);
  renderClock(state.clock);
  renderInvite(state);
  renderChat(state);
  renderKeyboard(state);
  renderAlerts(state);
  followNewest();  // the keyboard or the invite banner may have taken room from the chat
}

// Keep the newest message in view while the reader is at the bottom: after each drawing, and
// whenever the chat's box changes size (the reply keyboard appears, an image loads).
function followNewest() {
  const chat = $("chat");
  if (page.stick) chat.scrollTop = chat.scrollHeight;
}

// ---------------------------------------------------------------- polling
async function poll() {
  if (page.polling) {  // one request at a time; ask again when it is back (e.g. identity switched)
    page.pollAgain = true;
    return;
  }
  page.polling = true;
  try {
    const asked = page.userId;
    const q = asked ? "?user_id=" + asked : "";
    const state = await api("GET", "/api/state" + q);
    // switched to another identity while this was under way: this answer is the old one's
    if (page.userId !== asked) return;
    page.state = state;
    page.userId = state.me.user_id;
    if (page.failed) { page.failed = false; $("toast").hidden = true; }
    render(state);
  } catch (err) {
    if (err.key === "unknown_user") {
      // an unknown stored identity (e.g. after a restart with other demo data): start over
      localStorage.removeItem("sandbox.user");
      page.userId = null;
    } else {
      page.failed = true;
      toast(fmt("connection_lost"), true);
    }
  } finally {
    page.polling = false;
    if (page.pollAgain) {
      page.pollAgain = false;
      poll();
    }
  }
}

function loop() {
  poll().finally(() => setTimeout(loop, POLL_MS));
}

// ---------------------------------------------------------------- actions
async function act(work) {
  try {
    await work();
    await poll();
  } catch (err) {
    toast(err.message);
  }
}

function sendText(text) {
  return act(() => api("POST", "/api/send", { user_id: page.userId, text }));
}

function press(messageId, data) {
  return act(() => api("POST", "/api/press", { user_id: page.userId, message_id: messageId, data }));
}

function switchTo(userId) {
  page.userId = Number(userId);
  localStorage.setItem("sandbox.user", String(page.userId));
  page.renderedChat = "";
  page.keyboardOpen = true;
  $("invite").hidden = true;  // its button acts for the previous identity until the new state is drawn
  return poll();
}

// Follow new messages while the reader is at the bottom; stay put while they scroll back.
$("chat").addEventListener("scroll", () => {
  const chat = $("chat");
  page.stick = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
});
new ResizeObserver(followNewest).observe($("chat"));

$("identity").addEventListener("change", (ev) => switchTo(ev.target.value));

$("form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("text");
  const text = input.value;
  if (!text.trim()) return;
  input.value = "";
  sendText(text);
});

$("attach").addEventListener("click", () => $("file").click());
$("file").addEventListener("change", () => {
  const input = $("file");
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  // The text box, if filled, becomes the caption (as in Telegram's attach dialog).
  const caption = $("text").value;
  $("text").value = "";
  const kind = /^image\/(jpeg|png|webp|gif)$/.test(file.type) ? "photo" : "document";
  const q = "?user_id=" + page.userId + "&name=" + encodeURIComponent(file.name) + "&caption=" + encodeURIComponent(caption);
  act(() => api("POST", "/api/" + kind + q, file, { "Content-Type": file.type || "application/octet-stream" }));
});

$("kb-toggle").addEventListener("click", () => {
  page.keyboardOpen = !page.keyboardOpen;
  if (page.state) renderKeyboard(page.state);
});

for (const b of document.querySelectorAll("[data-advance]")) {
  b.addEventListener("click", () => act(async () => {
    for (const other of document.querySelectorAll("[data-advance]")) other.disabled = true;
    try {
      const res = await api("POST", "/api/clock", { advance: b.dataset.advance });
      toast(fmt("clock_moved", { count: res.ran.length }));
    } finally {
      for (const other of document.querySelectorAll("[data-advance]")) other.disabled = false;
    }
  }));
}

$("lang").addEventListener("click", async () => {
  page.lang = page.lang === "zh" ? "en" : "zh";
  localStorage.setItem("sandbox.lang", page.lang);
  $("identity").dataset.drawn = "";
  await loadStrings();
});

loadStrings().then(loop, () => { toast("…", true); setTimeout(() => location.reload(), 2000); });
