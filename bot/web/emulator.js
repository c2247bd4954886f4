// The emulator page: plays the platform's chat window against the bot's local channel.
"use strict";
const $ = (sel) => document.querySelector(sel);
const chat = $("#chat");
// Per-start token from the page: the server refuses browser POSTs without it (cross-site request forgery).
const CSRF = { "X-CSRF-Token": document.querySelector('meta[name="actionflow-csrf"]').content };
let person = null;
let socket = null;

function clientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
  return Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join("");
}

// What the server said about the person's own action: shown in the footer (in the flow), so it never
// covers a card, and cleared after a while.
let statusTimer = null;
function toast(text) {
  const st = $("#status");
  st.textContent = text;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { st.textContent = ""; }, 6000);
}

// A card replaced in place while it is scrolled out of sight: say so, and offer to jump to it.
function noticeUpdate(el) {
  const above = el.offsetTop + el.offsetHeight < chat.scrollTop + 8;
  const below = el.offsetTop > chat.scrollTop + chat.clientHeight;
  if (!above && !below) return;
  const n = $("#updated");
  const title = el.querySelector(".card-title");
  n.textContent = (above ? "↑ " : "↓ ") + "卡片已更新：" + (title ? title.textContent : "");
  n.hidden = false;
  n.onclick = () => {
    n.hidden = true;
    el.scrollIntoView({ block: "center", behavior: "smooth" });
    el.classList.add("flash"); setTimeout(() => el.classList.remove("flash"), 1500);
  };
}

function show(m) {
  let el = document.getElementById("m" + m.id);
  const fresh = !el;
  if (fresh) { el = document.createElement("div"); el.id = "m" + m.id; }
  el.className = "msg " + m.direction;
  if (m.html) { el.innerHTML = m.html; pageLinks(el); storeLinks(el); } else {
    el.innerHTML = ""; const b = document.createElement("div"); b.className = "bubble"; b.textContent = m.text; el.appendChild(b); storeLinks(el);
    if (m.image) { const img = document.createElement("img"); img.className = "chart"; img.src = m.image; img.alt = m.text; b.appendChild(img); }
  }
  if (fresh) { chat.appendChild(el); chat.scrollTop = chat.scrollHeight; } else if (m.replace) { noticeUpdate(el); }
}

// A page link in a card (the customer timeline) opens as the chosen persona: in the emulator that is who you are.
function pageLinks(el) {
  for (const note of el.querySelectorAll(".card-note")) {
    const m = note.textContent.match(/(https?:\/\/\S+\/timeline\/\S+)/);
    if (!m) continue;
    const a = document.createElement("a");
    const u = new URL(m[1]);  // this emulator's own origin (public_url may name another port)
    a.href = `${location.origin}${u.pathname}${u.search}&as=${person}`; a.target = "_blank"; a.rel = "noopener"; a.textContent = "打开完整时间线";
    a.className = "page-link";
    note.textContent = note.textContent.replace(m[1], ""); note.appendChild(a);
  }
}

async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: { ...CSRF, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) toast(await r.text());
  return r.ok;
}

async function choose(id) {
  person = Number(id);
  localStorage.setItem("actionflow.person", String(person));
  chat.innerHTML = "";
  document.body.dataset.live = "0";
  connect();
  const r = await fetch("/local/api/history?person=" + person);
  (await r.json()).forEach(show); // show() is keyed by id, so a message seen on both paths appears once
}

function connect() {
  if (socket) { socket.onclose = null; socket.close(); }
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const me = person;
  socket = new WebSocket(`${proto}://${location.host}/local/ws?person=${me}`);
  socket.onmessage = (e) => show(JSON.parse(e.data));
  socket.onopen = () => { document.body.dataset.live = "1"; };
  socket.onclose = () => {
    document.body.dataset.live = "0";
    setTimeout(() => { if (person === me) connect(); }, 1000);
  };
}

async function loadPeople() {
  const people = await (await fetch("/local/api/people")).json();
  const roles = { rep: "销售", supervisor: "主管", store_staff: "导购", store_manager: "店长", manager: "经理",
                  presales: "售前", delivery: "实施", legal: "法务", finance: "财务" };
  const sel = $("#person");
  sel.innerHTML = "";
  for (const p of people) {
    const o = document.createElement("option");
    o.value = p.id; o.textContent = `${p.name}（${roles[p.role] || p.role}${p.region ? " · " + p.region : ""}）`;
    sel.appendChild(o);
  }
  const saved = new URLSearchParams(location.search).get("person") || localStorage.getItem("actionflow.person");
  if (saved && people.some((p) => String(p.id) === saved)) sel.value = saved;
  if (people.length) await choose(sel.value);
}

$("#person").addEventListener("change", (e) => choose(e.target.value));

$("#composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("#text").value.trim();
  if (!text || person === null) return;
  $("#text").value = "";
  await post("/local/api/message", { person_id: person, client_id: clientId(), text });
});

$("#location").addEventListener("submit", async (e) => {
  e.preventDefault();
  await post("/local/api/location", { person_id: person, client_id: clientId(),
    lat: Number($("#lat").value), lng: Number($("#lng").value) });
});

for (const kind of ["photo", "voice", "file"]) {
  $("#" + kind).addEventListener("change", async (e) => {
    const f = e.target.files[0]; if (!f) return;
    const fd = new FormData();
    fd.append("person_id", String(person)); fd.append("client_id", clientId());
    fd.append("kind", kind === "photo" ? "image" : kind); fd.append("file", f);
    const r = await fetch("/local/api/upload", { method: "POST", headers: CSRF, body: fd });
    if (!r.ok) toast(await r.text());
    e.target.value = "";
  });
}

chat.addEventListener("click", async (e) => {
  const btn = e.target.closest("button[data-action]");
  if (!btn) return;
  const card = btn.closest(".card");
  btn.disabled = true;
  await post("/local/api/action", { person_id: person, client_id: clientId(), card_id: card.dataset.cardId,
    action: btn.dataset.action, value: "" });
  btn.disabled = false;
});

chat.addEventListener("submit", async (e) => {
  const form = e.target.closest("form.card-input");
  if (!form) return;
  e.preventDefault();
  const card = form.closest(".card");
  await post("/local/api/action", { person_id: person, client_id: clientId(), card_id: card.dataset.cardId,
    action: form.dataset.action, value: form.querySelector("input").value });
});

// The admin token (needed when the service is not on loopback only) lives for this tab only.
function adminHeaders() {
  const t = sessionStorage.getItem("adminToken");
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function askToken(ul, why) {
  const li = document.createElement("li");
  const msg = document.createElement("span"); msg.textContent = why;
  const input = document.createElement("input");
  input.type = "password"; input.id = "admin-token"; input.placeholder = "管理令牌"; input.setAttribute("aria-label", "管理令牌");
  const b = document.createElement("button"); b.className = "btn"; b.textContent = "确定";
  b.onclick = () => { sessionStorage.setItem("adminToken", input.value.trim()); loadJobs(); };
  li.append(msg, input, b); ul.appendChild(li);
}

async function loadJobs() {
  const r = await fetch("/admin/api/jobs", { headers: adminHeaders() });
  const jobs = r.ok ? await r.json() : [];
  const ul = $("#jobs"); ul.innerHTML = "";
  if (r.status === 403) { askToken(ul, await r.text()); return; }
  if (!r.ok) { const li = document.createElement("li"); li.textContent = await r.text(); ul.appendChild(li); return; }
  if (!jobs.length) { ul.innerHTML = "<li>没有定时任务</li>"; return; }
  for (const j of jobs) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.innerHTML = `${j.label}<small>${j.schedule}</small>`;
    // The moment the run simulates: the job's own slot today unless changed (texts are true for that moment).
    const at = document.createElement("input");
    at.type = "datetime-local"; at.value = j.at.slice(0, 16); at.dataset.job = j.name; at.setAttribute("aria-label", "模拟时刻");
    const b = document.createElement("button"); b.className = "btn"; b.textContent = "运行"; b.dataset.job = j.name;
    b.onclick = async () => {
      const res = await fetch(`/admin/api/jobs/${encodeURIComponent(j.name)}/run`, { method: "POST",
        headers: { ...CSRF, ...adminHeaders(), "Content-Type": "application/json" }, body: JSON.stringify({ at: at.value }) });
      toast(res.ok ? (await res.json()).summary : await res.text());
    };
    li.append(label, at, b); ul.appendChild(li);
  }
}

// 扫码: the emulator's stand-in for a phone camera — the persona's store task QR codes, each opening its page
// as the persona (what scanning it inside WeCom/DingTalk/Feishu does); store links in cards open the same way.
$("#scan").addEventListener("click", async () => {
  const box = $("#codes");
  if (!box.hidden) { box.hidden = true; return; }
  const r = await fetch(`/store/codes?as=${person}`);
  const codes = r.ok ? await r.json() : [];
  box.innerHTML = "";
  if (!codes.length) box.textContent = "这个身份没有门店任务二维码（店员和店长才有）。";
  for (const c of codes) {
    const item = document.createElement("div"); item.className = "code";
    const img = document.createElement("img"); img.alt = `${c.store} · ${c.task}`;
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(c.svg);
    const a = document.createElement("a"); a.className = "btn"; a.target = "_blank"; a.rel = "noopener";
    a.href = `${c.path}?as=${person}`; a.textContent = `扫描「${c.task}」`;
    item.append(img, a); box.appendChild(item);
  }
  box.hidden = false;
});

function storeLinks(el) {
  for (const card of el.querySelectorAll(".card, .bubble")) {
    for (const m of card.textContent.matchAll(/https?:\/\/[^\s：]+(\/store\/(?:q|funnel)\/[A-Za-z0-9_.-]+)/g)) {
      const a = document.createElement("a"); a.className = "page-link"; a.target = "_blank"; a.rel = "noopener";
      a.href = `${location.origin}${m[1]}?as=${person}`;
      a.textContent = m[1].startsWith("/store/funnel/") ? "打开门店漏斗" : "打开接待页";
      card.appendChild(a);
    }
  }
}

$("#admin-toggle").addEventListener("click", () => { const a = $("#admin"); a.hidden = !a.hidden; if (!a.hidden) loadJobs(); });
loadPeople();
