/* lanebot playground: a Slack-like view of the local Slack stand-in.
 *
 * The page never talks to the bot. It long-polls the workspace (/ui/state) and turns gestures
 * into what Slack would send (/ui/command, /ui/click, /ui/submit, /ui/close); the playground
 * server signs those requests exactly as Slack does. Everything is re-rendered from the
 * workspace snapshot, so what you see is what the bot posted through the Web API.
 * No framework and no build step on purpose: one file, read top to bottom.
 */
"use strict";

const S = {
  boot: null,          // /ui/bootstrap: users, personas, commands, mode
  snap: null,          // the latest /ui/state snapshot
  version: -1,
  user: null,          // acting user id
  channel: null,       // open channel id
  thread: null,        // open thread: parent ts
  followCommand: null, // {channel, after}: open the thread of the bot's next root message
  dismissed: new Set(),
  modal: null,         // {id, hash} of the modal on screen
  reveal: null,        // {channel, ts, was}: a clicked message to bring into view once the bot rewrites it
  modalErrors: {},
  hood: false,
  acIndex: 0,
  shown: "",           // what the last render drew, to skip redraws for changes nobody sees
};

const $ = (id) => document.getElementById(id);
const EXAMPLES = {
  "/support": ["Customer says they were charged twice", "I want a refund now or I will call my lawyer"],
  "/contract": ["This Agreement between Acme Inc. and Beta LLC renews automatically on 1 March 2027. " +
    "Invoices are payable net 30. Either party may terminate with 60 days written notice."],
  "/code": ["Add a retry with backoff to the HTTP client in payments/client.py"],
};
// Slack draws emoji as images, so a page cannot count on an emoji font (headless chromium has
// none): the emoji the bot uses are drawn as small badges from ordinary glyphs; others fall back
// to the Unicode character.
const EMOJI = {
  white_check_mark: { sym: "✔", bg: "#2eb67d" }, heavy_check_mark: { sym: "✔", fg: "#2eb67d" },
  ballot_box_with_check: { sym: "✔", bg: "#616061" }, x: { sym: "✖", fg: "#e01e5a" },
  no_entry: { sym: "━", bg: "#e01e5a", round: true }, no_entry_sign: { sym: "⊘", fg: "#e01e5a" },
  warning: { sym: "!", bg: "#ecb22e", fg: "#1d1c1d" }, pencil2: { sym: "✎", bg: "#e8912d" },
  hourglass: { sym: "⧗", bg: "#1264a3" }, hourglass_flowing_sand: { sym: "⧗", bg: "#1264a3" },
  alarm_clock: { sym: "◷", bg: "#e01e5a", round: true }, arrow_forward: { sym: "▶", bg: "#1264a3" },
  money_with_wings: { sym: "$", bg: "#2eb67d" }, moneybag: { sym: "$", bg: "#ecb22e", fg: "#1d1c1d" },
  information_source: { sym: "i", bg: "#1264a3" }, bar_chart: { sym: "▥", bg: "#1264a3" },
  robot_face: "🤖", chart_with_upwards_trend: "📈", eyes: "👀", tada: "🎉", wave: "👋", "+1": "👍",
  thumbsup: "👍", lock: "🔒", rotating_light: "🚨", mag: "🔍", scales: "⚖️", speech_balloon: "💬",
};
const ICONS = {
  bot: '<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="#fff" stroke-width="1.8" ' +
    'stroke-linecap="round"><rect x="4" y="8" width="16" height="11" rx="3"/><circle cx="9.5" cy="13.5" ' +
    'r="1.4" fill="#fff" stroke="none"/><circle cx="14.5" cy="13.5" r="1.4" fill="#fff" stroke="none"/>' +
    '<path d="M12 8V5.5"/><circle cx="12" cy="4.2" r="1.3" fill="#fff" stroke="none"/></svg>',
  slackbot: '<svg viewBox="0 0 24 24" width="20" height="20" fill="#fff"><path d="M4 5h16a2 2 0 0 1 2 2v8a2 ' +
    '2 0 0 1-2 2h-8l-5 4v-4H4a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z"/></svg>',
  eye: '<svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" stroke-width="2">' +
    '<path d="M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12z"/><circle cx="12" cy="12" r="3"/></svg>',
  file: '<svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="2">' +
    '<path d="M6 2h8l4 4v16H6z"/><path d="M14 2v4h4M9 12h6M9 16h6"/></svg>',
  chart: '<svg viewBox="0 0 24 24" width="16" height="16" fill="currentColor"><rect x="3" y="12" width="4" ' +
    'height="9" rx="1"/><rect x="10" y="7" width="4" height="14" rx="1"/><rect x="17" y="3" width="4" ' +
    'height="18" rx="1"/></svg>',
};
const PALETTE = ["#e01e5a", "#2eb67d", "#36c5f0", "#ecb22e", "#4a154b", "#1264a3", "#e8912d", "#0b4c8c", "#6b3fa0"];

// ---- helpers ------------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "html") el.innerHTML = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function esc(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function slackUnescape(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function userById(id) {
  return (S.snap?.users || S.boot?.users || []).find((u) => u.id === id);
}

function displayName(id) {
  if (id === "USLACKBOT") return "Slackbot";
  const u = userById(id);
  return u ? (u.is_bot ? u.name : u.real_name || u.name) : id;
}

function avatar(id, extraClass) {
  const u = userById(id);
  if (id === "USLACKBOT") return h("div", { class: `avatar bot slackbot ${extraClass || ""}`, html: ICONS.slackbot });
  if (u && u.is_bot) return h("div", { class: `avatar bot ${extraClass || ""}`, html: ICONS.bot });
  const name = displayName(id);
  const initials = name.split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();
  let hash = 0;
  for (const c of String(id)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return h("div", { class: `avatar ${extraClass || ""}`, style: `background:${PALETTE[hash % PALETTE.length]}` }, initials);
}

function timeOf(ts) {
  return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

function channelById(id) {
  return (S.snap?.channels || []).find((c) => c.id === id);
}

function rolesOf(id) {
  return (S.boot?.users || []).find((u) => u.id === id)?.roles || [];
}

function toast(text, isError) {
  const el = $("toast");
  el.textContent = text;
  el.className = `toast ${isError ? "error" : ""}`;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, isError ? 7000 : 3500);
}

async function api(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await res.json(); } catch (e) { data = { error: `HTTP ${res.status}` }; }
  if (!res.ok) toast(data.error || `HTTP ${res.status}`, true);
  return { status: res.status, data };
}

// ---- mrkdwn -------------------------------------------------------------------------------------

function renderLinkToken(inner) {
  const [target, label] = inner.split("|", 2);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const me = id === S.user ? " me" : "";
    return `<span class="mention${me}" data-user="${esc(id)}">@${esc(label || displayName(id))}</span>`;
  }
  if (target.startsWith("!subteam^")) {
    const id = target.slice(9);
    const group = (S.snap?.usergroups || []).find((g) => g.id === id);
    const mine = group && group.members.includes(S.user) ? " me" : "";
    return `<span class="mention${mine}">@${esc(label || (group ? group.handle : id))}</span>`;
  }
  if (target.startsWith("!")) return `<span class="mention me">@${esc(label || target.slice(1))}</span>`;
  if (target.startsWith("#")) {
    const ch = channelById(target.slice(1));
    return `<span class="mention">#${esc(label || (ch ? ch.name : target.slice(1)))}</span>`;
  }
  const href = slackUnescape(target);
  if (!/^(https?:|mailto:)/i.test(href)) return esc(slackUnescape(inner));
  return `<a href="${esc(href)}" target="_blank" rel="noopener">${esc(slackUnescape(label || target))}</a>`;
}

function inline(text) {
  // Slack's <...> tokens first (their text must not be formatted), then entities, then styles.
  const tokens = [];
  let out = String(text).replace(/<([^<>\n]+)>/g, (_, inner) => {
    tokens.push(renderLinkToken(inner));
    return `\u0000${tokens.length - 1}\u0000`;
  });
  out = esc(slackUnescape(out));
  out = out.replace(/(^|[\s(>])\*(?!\s)([^*\n]+?)\*(?=$|[\s.,;:!?)<])/g, "$1<b>$2</b>");
  out = out.replace(/(^|[\s(>])_(?!\s)([^_\n]+?)_(?=$|[\s.,;:!?)<])/g, "$1<i>$2</i>");
  out = out.replace(/(^|[\s(>])~(?!\s)([^~\n]+?)~(?=$|[\s.,;:!?)<])/g, "$1<s>$2</s>");
  out = out.replace(/:([a-z0-9_+-]+):/g, (m, name) => emoji(name) || m);
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => tokens[Number(i)]);
}

function emoji(name) {
  const found = EMOJI[name];
  if (!found) return null;
  if (typeof found === "string") return `<span class="emoji-native" title=":${name}:">${found}</span>`;
  const style = `${found.bg ? `background:${found.bg};color:#fff;` : ""}${found.fg ? `color:${found.fg};` : ""}`;
  const shape = `${found.bg ? " badge" : ""}${found.round ? " round" : ""}`;
  return `<span class="emoji${shape}" style="${style}" title=":${name}:" role="img" aria-label="${name}">${found.sym}</span>`;
}

function withCode(text) {
  // `code` spans are literal; everything else is inline mrkdwn.
  return String(text).split(/(`[^`\n]+`)/g).map((part) =>
    part.length > 2 && part.startsWith("`") && part.endsWith("`")
      ? `<code>${esc(slackUnescape(part.slice(1, -1)))}</code>` : inline(part)).join("");
}

function mrkdwn(text) {
  const parts = String(text || "").split(/```/);
  return parts.map((part, i) => {
    if (i % 2 === 1) return `<pre class="code">${esc(slackUnescape(part.replace(/^\n/, "")))}</pre>`;
    const lines = part.split("\n");
    const html = [];
    let quote = [];
    const flush = () => { if (quote.length) { html.push(`<blockquote>${quote.join("<br>")}</blockquote>`); quote = []; } };
    for (const line of lines) {
      if (/^(>|&gt;)/.test(line)) quote.push(withCode(line.replace(/^(>|&gt;) ?/, "")));
      else { flush(); html.push(withCode(line)); }
    }
    flush();
    return html.join("<br>").replace(/<br>(<blockquote>)/g, "$1").replace(/(<\/blockquote>)<br>/g, "$1");
  }).join("");
}

function textObject(obj) {
  if (!obj) return "";
  if (obj.type === "mrkdwn") return mrkdwn(obj.text);
  return inline(esc(obj.text || "")).replace(/\n/g, "<br>");
}

// ---- Block Kit ----------------------------------------------------------------------------------

function renderBlocks(blocks, where) {
  return h("div", { class: "blocks" }, (blocks || []).map((b) => renderBlock(b, where)));
}

function renderBlock(block, where) {
  switch (block.type) {
    case "section": {
      const parts = [];
      if (block.text) parts.push(h("div", { class: "bk-text", html: textObject(block.text) }));
      const el = h("div", { class: "bk-section", "data-block-id": block.block_id }, ...parts);
      if (block.fields) el.querySelector(".bk-text")?.append(h("div", { class: "bk-fields" },
        block.fields.map((f) => h("div", { html: textObject(f) }))));
      if (block.accessory) el.append(renderElement(block.accessory, block.block_id, where));
      return el;
    }
    case "context":
      return h("div", { class: "bk-context", "data-block-id": block.block_id },
        (block.elements || []).map((e) => e.type === "image"
          ? h("img", { src: e.image_url, alt: e.alt_text || "" })
          : h("span", { html: textObject(e) })));
    case "header":
      return h("div", { class: "bk-header", html: textObject(block.text) });
    case "divider":
      return h("hr", { class: "bk-divider" });
    case "image":
      return h("div", { class: "bk-image" },
        block.title ? h("div", { class: "title" }, block.title.text) : null,
        h("img", { src: block.image_url, alt: block.alt_text || "" }));
    case "actions":
      return h("div", { class: "bk-actions", "data-block-id": block.block_id },
        (block.elements || []).map((e) => renderElement(e, block.block_id, where)));
    default:
      return h("div", { class: "bk-context" }, `[${block.type} block]`);
  }
}

function renderElement(el, blockId, where) {
  if (el.type === "button") {
    const style = el.style ? ` ${el.style}` : "";
    return h("button", {
      class: `bk-btn${style}`, "data-action-id": el.action_id, "data-block-id": blockId,
      onclick: (ev) => click(ev.currentTarget, where, el.action_id, blockId, null),
    }, el.text?.text || "Button");
  }
  if (el.type === "static_select" || el.type === "overflow") {
    const select = h("select", { class: "bk-select", "data-action-id": el.action_id },
      h("option", { value: "" }, el.placeholder?.text || "Select…"),
      (el.options || []).map((o) => h("option", { value: o.value }, o.text.text)));
    select.addEventListener("change", () => click(select, where, el.action_id, blockId, select.value));
    return select;
  }
  if (el.type === "image") return h("img", { src: el.image_url, alt: el.alt_text || "", style: "width:72px;height:72px;border-radius:6px" });
  return h("span", { class: "bk-context" }, `[${el.type}]`);
}

async function click(button, where, actionId, blockId, value) {
  // The bot answers a decision by rewriting the clicked message from its top line down; on a long
  // draft that line is far above the buttons, so the message is scrolled into view once it changes.
  const clicked = messageByTs(where.channel, where.ts);
  S.reveal = clicked ? { channel: where.channel, ts: where.ts, was: JSON.stringify(clicked.blocks) } : null;
  button.classList.add("busy");
  await api("/ui/click", { user: S.user, channel: where.channel, ts: where.ts, action_id: actionId, block_id: blockId, value });
  button.classList.remove("busy");
}

// ---- messages -----------------------------------------------------------------------------------

function fileCards(message) {
  return (message.files || []).map((ref) => {
    const f = (S.snap.files || []).find((x) => x.id === ref.id) || { id: ref.id, name: ref.id, mimetype: "" };
    if ((f.mimetype || "").startsWith("image/")) {
      return h("div", { class: "file-image" }, h("div", { class: "title" }, f.title || f.name),
        h("a", { href: `/ui/files/${f.id}`, target: "_blank" },
          h("img", { src: `/ui/files/${f.id}`, alt: f.title || f.name, onload: keepBottom })));
    }
    return h("div", { class: "file-card" }, h("span", { class: "file-icon", html: ICONS.file }),
      h("a", { href: `/ui/files/${f.id}`, target: "_blank", "data-testid": "file-link" }, f.title || f.name),
      h("span", { class: "file-name" }, ` ${f.name}`));
  });
}

function messageEl(item, opts) {
  const { channel, inThread, cont } = opts;
  const isEph = item.kind === "ephemeral";
  const m = item.data;
  const author = isEph ? (m.source === "slackbot" ? "USLACKBOT" : S.snap.bot.user_id) : m.user;
  const isBot = author === S.snap.bot.user_id || author === "USLACKBOT";
  const classes = ["msg", isEph ? "ephemeral" : "", cont ? "cont" : "", !inThread && S.thread === m.ts ? "selected-thread" : ""];
  const body = h("div", { class: "msg-body" });
  if (isEph) {
    body.append(h("div", { class: "only-you" }, h("span", { class: "eye", html: ICONS.eye }), "Only visible to you",
      h("span", { class: "dismiss", onclick: () => { S.dismissed.add(m.ts); render(); } }, "Dismiss")));
  }
  if (!cont) {
    body.append(h("div", { class: "msg-head" },
      h("span", { class: "msg-author" }, displayName(author)),
      isBot && author !== "USLACKBOT" ? h("span", { class: "app-badge" }, "APP") : null,
      h("span", { class: "msg-time", title: m.ts }, timeOf(m.ts))));
  }
  const where = { channel, ts: m.ts };
  const content = m.blocks && m.blocks.length ? renderBlocks(m.blocks, where) : h("div", { html: mrkdwn(m.text) });
  const edited = m.edited && !isBot ? h("span", { class: "edited" }, "(edited)") : null;
  body.append(h("div", { class: "msg-text" }, content, edited));
  if (!isEph) body.append(...fileCards(m));
  if (!inThread && !isEph && m.thread_ts === m.ts) body.append(threadLink(channel, m));
  const gutter = cont ? h("div", { class: "gutter" }, h("span", { class: "hover-time" }, timeOf(m.ts))) : avatar(author);
  return h("div", {
    class: classes.filter(Boolean).join(" "), "data-ts": m.ts, "data-user": author,
    "data-kind": isEph ? "ephemeral" : "message",
  }, gutter, body);
}

function threadLink(channel, parent) {
  const replies = repliesOf(channel, parent.ts);
  if (!replies.length) return null;
  const people = [...new Set(replies.map((r) => r.user))].slice(0, 3);
  const last = replies[replies.length - 1];
  return h("div", { class: "thread-link", "data-ts": parent.ts, onclick: () => openThread(parent.ts) },
    people.map((p) => avatar(p)),
    h("span", { class: "count" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`),
    h("span", { class: "last" }, `Last reply ${timeOf(last.ts)}`));
}

function repliesOf(channelId, ts) {
  const ch = channelById(channelId);
  return (ch?.messages || []).filter((m) => m.thread_ts === ts && m.ts !== ts);
}

function ephemeralsFor(channelId, threadTs) {
  return (S.snap.ephemerals || []).filter((e) => e.user === S.user && e.channel === channelId
    && !S.dismissed.has(e.ts) && (threadTs ? e.thread_ts === threadTs : !e.thread_ts));
}

function timeline(messages, ephemerals) {
  const items = messages.map((m) => ({ kind: "message", data: m }))
    .concat(ephemerals.map((e) => ({ kind: "ephemeral", data: e })));
  return items.sort((a, b) => parseFloat(a.data.ts) - parseFloat(b.data.ts));
}

function appendTimeline(container, channel, items, inThread) {
  let prev = null;
  for (const item of items) {
    const author = item.kind === "ephemeral" ? null : item.data.user;
    const cont = prev && author && prev.kind === "message" && prev.data.user === author
      && !(prev.data.thread_ts === prev.data.ts && !inThread)
      && parseFloat(item.data.ts) - parseFloat(prev.data.ts) < 300;
    container.append(messageEl(item, { channel, inThread, cont }));
    prev = item;
  }
}

// ---- rendering ----------------------------------------------------------------------------------

function render() {
  if (!S.snap || !S.boot) return;
  // Decide what stays pinned to the newest message before anything moves: opening the thread pane
  // narrows the channel and reflows it, so the scroll is applied after everything is drawn.
  const pinned = [$("messages"), $("thread-messages")].filter(isPinned);
  followCommand();
  renderPersonas();
  renderSidebar();
  renderThread();
  renderChannel();
  renderHood();
  renderModal();
  for (const box of pinned) box.scrollTop = box.scrollHeight;
  revealDecided();
}

function messageByTs(channelId, ts) {
  return (channelById(channelId)?.messages || []).find((m) => m.ts === ts) || null;
}

function revealDecided() {
  const r = S.reveal;
  const now = r && messageByTs(r.channel, r.ts);
  if (!now || JSON.stringify(now.blocks) === r.was) return;
  S.reveal = null;
  const el = document.querySelector(`#thread-messages .msg[data-ts="${r.ts}"]`)
    || document.querySelector(`#messages .msg[data-ts="${r.ts}"]`);
  el?.scrollIntoView({ block: "start" });
}

function isPinned(box) {
  const forced = Boolean(box.dataset.forceBottom);
  delete box.dataset.forceBottom;
  return forced || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function keepBottom(ev) {
  // An image that finishes loading pushes the end of the list down; stay there if we were there.
  const box = ev.currentTarget.closest(".messages");
  if (box && box.scrollHeight - box.scrollTop - box.clientHeight - ev.currentTarget.height < 120) {
    box.scrollTop = box.scrollHeight;
  }
}

function renderPersonas() {
  const box = $("personas");
  box.replaceChildren(...S.boot.personas.map((p) => h("button", {
    class: `persona ${p.user === S.user ? "active" : ""}`, "data-testid": `persona-${p.key}`,
    title: `${displayName(p.user)}: ${p.label}`, onclick: () => setUser(p.user),
  }, avatar(p.user), displayName(p.user).split(" ")[0], h("span", { class: "role" }, p.key))));
  $("acting-user").value = S.user;
}

function visibleChannels() {
  return (S.snap.channels || []).filter((c) => !c.is_im || c.members.includes(S.user));
}

function renderSidebar() {
  const list = $("channel-list");
  const dms = $("dm-list");
  const apps = $("app-list");
  const items = [];
  const dmItems = [];
  for (const ch of visibleChannels()) {
    const li = h("li", {
      class: ch.id === S.channel ? "active" : "", "data-testid": `channel-${ch.id}`,
      onclick: () => openChannel(ch.id),
    });
    if (ch.is_im) {
      li.append(avatar(S.snap.bot.user_id), S.boot.bot.name);
      dmItems.push(li);
    } else {
      li.append(h("span", { class: "hash" }, ch.is_private ? "◉" : "#"), ch.name);
      if (!ch.is_member) li.append(h("span", { class: "note", title: "lanebot is not in this channel" }, "no bot"));
      items.push(li);
    }
  }
  list.replaceChildren(...items);
  dms.replaceChildren(...dmItems);
  dms.parentElement.hidden = !dmItems.length;
  const lanes = S.boot.lanes.map((l) => l.command).join(" ");
  apps.replaceChildren(h("li", { title: `the bot under test: ${lanes}` }, avatar(S.snap.bot.user_id), S.boot.bot.name,
    h("span", { class: "note" }, S.boot.mode.offline ? "offline" : "live")));
}

function renderChannel() {
  const ch = channelById(S.channel) || channelById(S.boot.default_channel);
  if (!ch) return;
  S.channel = ch.id;
  const title = ch.is_im ? S.boot.bot.name : `# ${ch.name}`;
  $("channel-title").textContent = title;
  $("channel-topic").textContent = topicOf(ch);
  $("composer").placeholder = ch.is_im ? `Message ${S.boot.bot.name}` : `Message #${ch.name}`;
  const box = $("messages");
  box.replaceChildren(intro(ch), h("div", { class: "day-divider" }, h("span", {}, "Today")));
  const top = ch.messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  appendTimeline(box, ch.id, timeline(top, ephemeralsFor(ch.id, null)), false);
  renderExamples(ch);
}

function topicOf(ch) {
  if (ch.is_im) return "Direct messages with the bot";
  if (!ch.is_member) return "lanebot is not in this channel: try a command to see what happens, then /invite @lanebot";
  if (ch.id === S.boot.digest_channel) return "Where the weekly digest is posted";
  return `${ch.members.length} members · ` + S.boot.lanes.map((l) => l.command).join(" · ");
}

function intro(ch) {
  const mode = S.boot.mode;
  return h("div", { class: "intro" },
    h("h2", {}, ch.is_im ? S.boot.bot.name : `#${ch.name}`),
    h("p", { html: `This is the <b>lanebot playground</b>: the real bot, driven through a local stand-in for Slack. ` +
      `Run a lane with a slash command, then switch the acting user above to approve, edit or reject the draft ` +
      `in its thread as the requester, an owner, a reviewer or an outsider.` }),
    h("p", {}, `Models: ${mode.summary}.`));
}

function renderExamples(ch) {
  const box = $("examples");
  if (ch.is_im || ch.id === S.boot.digest_channel) { box.replaceChildren(); return; }
  const chips = [];
  for (const lane of S.boot.lanes) {
    for (const text of EXAMPLES[lane.command] || []) chips.push(`${lane.command} ${text}`);
  }
  chips.push("/lanes");
  box.replaceChildren(h("span", { class: "label" }, "Try:"), ...chips.slice(0, 5).map((c) =>
    h("button", { class: "example", title: c, onclick: () => { $("composer").value = c; $("composer").focus(); autosize($("composer")); } }, c)));
}

function renderThread() {
  const pane = $("thread");
  const ch = channelById(S.channel);
  const parent = ch && S.thread ? ch.messages.find((m) => m.ts === S.thread) : null;
  if (!parent) { pane.hidden = true; S.thread = null; return; }
  pane.hidden = false;
  $("thread-sub").textContent = ch.is_im ? S.boot.bot.name : `# ${ch.name}`;
  const box = $("thread-messages");
  const replies = repliesOf(ch.id, parent.ts);
  box.replaceChildren();
  appendTimeline(box, ch.id, [{ kind: "message", data: parent }], true);
  const count = `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`;
  if (replies.length) box.append(h("div", { class: "reply-divider" }, count));
  appendTimeline(box, ch.id, timeline(replies, ephemeralsFor(ch.id, parent.ts)), true);
}

function renderHood() {
  $("hood").hidden = !S.hood;
  $("app").classList.toggle("hood-open", S.hood);
  $("hood-toggle").classList.toggle("on", S.hood);
  if (!S.hood) return;
  const calls = (S.snap.calls || []).slice().reverse();
  $("calls").replaceChildren(...calls.map((c) => h("li", {},
    h("span", { class: c.error ? "err" : "ok" }, c.error ? "✗" : "✓"),
    h("span", {}, c.method), c.error ? h("span", { class: "err" }, c.error) : null,
    h("span", { class: "when" }, new Date(c.at * 1000).toLocaleTimeString()))));
}

// ---- modals -------------------------------------------------------------------------------------

function topView() {
  const mine = (S.snap.views || []).filter((v) => v.user === S.user);
  return mine.find((v) => !mine.some((o) => o.previous_view_id === v.id)) || null;
}

function renderModal() {
  const root = $("modal-root");
  const view = topView();
  if (!view) { root.replaceChildren(); S.modal = null; return; }
  if (S.modal && S.modal.id === view.id && S.modal.hash === view.hash) return; // keep what is typed
  S.modal = { id: view.id, hash: view.hash };
  S.modalErrors = {};
  const body = h("div", { class: "modal-body" }, (view.blocks || []).map((b) =>
    b.type === "input" ? inputBlock(b) : renderBlock(b, { channel: S.channel, ts: "" })));
  const submit = view.submit ? h("button", { class: "modal-btn submit", "data-testid": "modal-submit", onclick: () => submitModal(view) }, view.submit.text) : null;
  const modal = h("div", { class: "modal", role: "dialog", "aria-modal": "true", "data-testid": "modal", "data-callback-id": view.callback_id },
    h("div", { class: "modal-head" }, avatar(S.snap.bot.user_id), h("div", { class: "modal-title" }, view.title?.text || ""),
      h("button", { class: "pane-close", "data-testid": "modal-x", title: "Close", onclick: () => closeModal(view) }, "✕")),
    body,
    h("div", { class: "modal-foot" },
      h("button", { class: "modal-btn", "data-testid": "modal-cancel", onclick: () => closeModal(view) }, view.close?.text || "Cancel"),
      submit));
  root.replaceChildren(h("div", { class: "modal-backdrop" }, modal));
  modal.querySelector("textarea, input, select")?.focus();
}

function inputBlock(block) {
  const el = block.element || {};
  const id = `in-${block.block_id}`;
  let control;
  if (el.type === "plain_text_input") {
    const initial = el.initial_value || "";
    const rows = Math.max(3, Math.min(14, Math.ceil(initial.length / 60) + initial.split("\n").length));
    control = el.multiline
      ? h("textarea", { id, rows, maxlength: el.max_length, placeholder: el.placeholder?.text })
      : h("input", { id, type: "text", maxlength: el.max_length, placeholder: el.placeholder?.text });
    control.value = initial;
  } else if (el.type === "static_select") {
    control = h("select", { id },
      h("option", { value: "" }, el.placeholder?.text || "Select an option"),
      (el.options || []).map((o) => h("option", { value: o.value }, o.text.text)));
    if (el.initial_option) control.value = el.initial_option.value;
  } else if (el.type === "radio_buttons") {
    control = h("div", { id, role: "radiogroup" }, (el.options || []).map((o) => h("label", { class: "bk-radio" },
      h("input", { type: "radio", name: id, value: o.value, checked: el.initial_option?.value === o.value || null }), o.text.text)));
  } else {
    control = h("div", { class: "hint" }, `[${el.type} input]`);
  }
  const label = block.label?.text || "";
  const optional = block.optional && !/optional/i.test(label) ? h("span", { class: "optional" }, " (optional)") : null;
  const clear = (ev) => {
    const box = ev.currentTarget;
    box.classList.remove("has-error");
    box.querySelector(".error").hidden = true;
  };
  return h("div", {
    class: "bk-input", "data-block-id": block.block_id, "data-action-id": el.action_id, "data-type": el.type,
    "data-optional": block.optional ? "1" : "", oninput: clear, onchange: clear,
  },
    h("label", { class: "bk-label", for: id }, label, optional),
    control,
    block.hint ? h("div", { class: "hint" }, block.hint.text) : null,
    h("div", { class: "error", hidden: true }));
}

function readInputs() {
  const values = {};
  const missing = [];
  for (const box of document.querySelectorAll("#modal-root .bk-input")) {
    const { blockId, actionId, type, optional } = box.dataset;
    let value = null;
    if (type === "plain_text_input") value = box.querySelector("textarea, input").value;
    else if (type === "static_select") value = box.querySelector("select").value || null;
    else if (type === "radio_buttons") value = box.querySelector("input:checked")?.value || null;
    else continue;
    if (!optional && (value === null || value === "")) missing.push(blockId);
    values[blockId] = { [actionId]: value === "" ? null : value };
  }
  return { values, missing };
}

function showErrors(errors) {
  for (const box of document.querySelectorAll("#modal-root .bk-input")) {
    const msg = errors[box.dataset.blockId];
    const el = box.querySelector(".error");
    el.hidden = !msg;
    el.textContent = msg || "";
    box.classList.toggle("has-error", Boolean(msg));
  }
}

async function submitModal(view) {
  const { values, missing } = readInputs();
  if (missing.length) {
    showErrors(Object.fromEntries(missing.map((b) => [b, "Please complete this required field."])));
    return;
  }
  const button = document.querySelector("[data-testid=modal-submit]");
  button.disabled = true;
  const { data } = await api("/ui/submit", { user: S.user, view_id: view.id, values });
  button.disabled = false;
  showErrors(data.errors || {});
}

async function closeModal(view) {
  await api("/ui/close", { user: S.user, view_id: view.id });
}

// ---- gestures -----------------------------------------------------------------------------------

function setUser(id) {
  S.user = id;
  S.modal = null;
  localStorage.setItem("lanebot.playground.user", id);
  render();
}

function openChannel(id) {
  S.channel = id;
  S.thread = null;
  $("messages").dataset.forceBottom = "1";
  render();
}

function openThread(ts) {
  S.thread = ts;
  $("thread-messages").dataset.forceBottom = "1";
  render();
}

function followCommand() {
  const f = S.followCommand;
  if (!f) return;
  const ch = channelById(f.channel);
  const root = (ch?.messages || []).find((m) => m.user === S.snap.bot.user_id && parseFloat(m.ts) > f.after
    && (!m.thread_ts || m.thread_ts === m.ts));
  if (root) {
    S.followCommand = null;
    S.channel = f.channel;
    S.thread = root.ts;
    $("thread-messages").dataset.forceBottom = "1";
  }
}

function latestTs(channelId) {
  const ch = channelById(channelId);
  return Math.max(0, ...(ch?.messages || []).map((m) => parseFloat(m.ts)));
}

async function send(textarea, threadTs) {
  const text = textarea.value.trim();
  if (!text) return;
  textarea.value = "";
  autosize(textarea);
  hideAutocomplete();
  const lane = S.boot.lanes.find((l) => text.split(/\s/)[0] === l.command);
  if (lane && !threadTs) S.followCommand = { channel: S.channel, after: latestTs(S.channel) };
  $("messages").dataset.forceBottom = "1";
  const { status } = await api("/ui/command", { user: S.user, channel: S.channel, text, thread_ts: threadTs || null });
  if (status >= 400) textarea.value = text;
}

async function openDigest() {
  const button = $("open-digest");
  button.disabled = true;
  const { status, data } = await api("/ui/digest", {});
  button.disabled = false;
  if (status === 200) {
    S.channel = data.channel;
    S.thread = data.ts;
    $("thread-messages").dataset.forceBottom = "1";
    $("messages").dataset.forceBottom = "1";
    render();
  }
}

// ---- composer and slash-command autocomplete ------------------------------------------------------

function autosize(el) {
  el.style.height = "auto";
  el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
}

function matches(value) {
  if (!value.startsWith("/") || /\s/.test(value)) return [];
  return S.boot.commands.filter((c) => c.command.startsWith(value));
}

function renderAutocomplete() {
  const box = $("autocomplete");
  const found = matches($("composer").value);
  if (!found.length) { hideAutocomplete(); return; }
  S.acIndex = Math.min(S.acIndex, found.length - 1);
  box.replaceChildren(h("div", { class: "ac-head" }, "Commands matching your text"),
    ...found.map((c, i) => h("div", { class: `ac-item ${i === S.acIndex ? "sel" : ""}`, "data-command": c.command,
      onmousedown: (ev) => { ev.preventDefault(); complete(c.command); } },
    h("span", { class: "ac-cmd" }, c.command), h("span", { class: "ac-hint" }, c.usage_hint || ""),
    h("span", { class: "ac-desc" }, c.description))));
  box.hidden = false;
}

function hideAutocomplete() {
  $("autocomplete").hidden = true;
  S.acIndex = 0;
}

function complete(command) {
  const el = $("composer");
  el.value = `${command} `;
  hideAutocomplete();
  el.focus();
}

function onComposerKey(ev) {
  const el = ev.currentTarget;
  const found = el.id === "composer" ? matches(el.value) : [];
  const exact = found.some((c) => c.command === el.value);
  if (found.length && (ev.key === "ArrowDown" || ev.key === "ArrowUp")) {
    ev.preventDefault();
    S.acIndex = (S.acIndex + (ev.key === "ArrowDown" ? 1 : found.length - 1)) % found.length;
    renderAutocomplete();
    return;
  }
  if (found.length && !exact && (ev.key === "Tab" || ev.key === "Enter")) {
    ev.preventDefault();
    complete(found[S.acIndex].command);
    return;
  }
  if (ev.key === "Escape") { hideAutocomplete(); return; }
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    send(el, el.id === "thread-composer" ? S.thread : null);
  }
}

// ---- start --------------------------------------------------------------------------------------

function setupUserSelect() {
  const select = $("acting-user");
  const personaIds = new Set(S.boot.personas.map((p) => p.user));
  const people = S.boot.users.filter((u) => !u.is_bot);
  const label = (u) => `${u.real_name}${u.roles.length ? ` — ${u.roles.join(", ")}` : ""}`;
  select.replaceChildren(
    h("optgroup", { label: "Personas" }, S.boot.personas.map((p) =>
      h("option", { value: p.user }, `${displayName(p.user)} — ${p.label}`))),
    h("optgroup", { label: "Everyone" }, people.filter((u) => !personaIds.has(u.id)).map((u) =>
      h("option", { value: u.id }, label(u)))));
  select.addEventListener("change", () => setUser(select.value));
}

function setupMode() {
  const mode = S.boot.mode;
  const badge = $("mode-badge");
  badge.textContent = mode.offline ? "Offline sample model" : "Real models";
  badge.className = `mode-badge ${mode.offline ? "offline" : "real"}`;
  badge.title = [mode.summary, ...mode.tiers].join("\n");
  $("mode-note").textContent = mode.offline
    ? "No API keys: every lane runs on the offline sample model. Set OPENAI_API_KEY or ANTHROPIC_API_KEY and restart for real drafts."
    : "Lanes run on the models lanes.toml names. Hover the badge for each tier.";
}

function wire() {
  for (const id of ["composer", "thread-composer"]) {
    const el = $(id);
    el.addEventListener("keydown", onComposerKey);
    el.addEventListener("input", () => { autosize(el); if (id === "composer") renderAutocomplete(); });
    el.addEventListener("blur", () => setTimeout(hideAutocomplete, 150));
  }
  $("send").addEventListener("click", () => send($("composer"), null));
  $("thread-send").addEventListener("click", () => send($("thread-composer"), S.thread));
  $("thread-close").addEventListener("click", () => { S.thread = null; render(); });
  $("hood-toggle").addEventListener("click", () => { S.hood = !S.hood; render(); });
  $("hood-close").addEventListener("click", () => { S.hood = false; render(); });
  $("open-digest").addEventListener("click", openDigest);
  document.addEventListener("keydown", (ev) => {
    const view = S.snap && topView();
    if (ev.key === "Escape" && view) closeModal(view);
  });
}

async function poll() {
  for (;;) {
    try {
      const res = await fetch(`/ui/state?since=${S.version}&timeout=20`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const snap = await res.json();
      // Most versions are API calls the bot made; redraw the channel only when what it shows changed.
      const shown = JSON.stringify([snap.channels, snap.ephemerals, snap.views, snap.files]);
      S.snap = snap;
      S.version = snap.version;
      if (shown !== S.shown) { S.shown = shown; render(); } else renderHood();
      document.body.dataset.version = String(snap.version);
    } catch (err) {
      toast("Lost the playground server; retrying…", true);
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
}

async function start() {
  await api("/ui/connect", {}); // a reload is a new client: modals left open by the last page close
  const res = await fetch("/ui/bootstrap");
  S.boot = await res.json();
  const saved = localStorage.getItem("lanebot.playground.user");
  const known = new Set(S.boot.users.map((u) => u.id));
  const params = new URLSearchParams(location.search);
  S.user = [params.get("as"), saved, S.boot.personas[0]?.user].find((u) => u && known.has(u));
  S.channel = params.get("channel") || S.boot.default_channel;
  $("workspace-name").firstChild.textContent = `${S.boot.team.domain} `;
  setupUserSelect();
  setupMode();
  wire();
  poll();
}

start();
