// plgl web UI: talks to the REST API with the user's bearer token; no framework, no build step.
"use strict";

const TOKEN_KEY = "plgl.token";
const CONTEXT_KEY = "plgl.context";
const BATCH = 5;
// Ask for more while a couple of cards are left: a batch takes time, and a short queue keeps
// pair cards timely (each is chosen from what the model knew when it was asked for).
const REFILL_BELOW = 2;
const FLICK_DISTANCE = 110; // px past which a released card counts as swiped
const FLICK_SPEED = 0.6; // px/ms: a fast short flick counts too

const $ = (id) => document.getElementById(id);

const state = {
  token: localStorage.getItem(TOKEN_KEY),
  domain: null,
  queue: [], // cards waiting in the deck, top first: {kind: "swipe" | "pair" | "choice", items}
  fetching: null,
  shownAt: 0, // when the top card appeared (dwell time)
  busy: false,
  ratings: 0,
  pair: null,
  blobs: new Map(), // content URL -> object URL
  audio: null,
  context: localStorage.getItem(CONTEXT_KEY) || "", // "" is the default profile
  criteria: [], // criteria shown on cards: rated, defined by the operator, or added here
  rated: {}, // criterion -> ratings given on it
};

// ------------------------------------------------------------------ API
class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body, retries = 2) {
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (state.context) headers["X-Plgl-Context"] = state.context;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    // Network trouble: the same request (same event id) is safe to send again.
    if (retries > 0) { await sleep(800); return api(method, path, body, retries - 1); }
    throw error;
  }
  if (response.status === 429 && retries > 0) {
    await sleep(1000 * Number(response.headers.get("Retry-After") || 1));
    return api(method, path, body, retries - 1);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && retries > 0) { await signUp(); return api(method, path, body, retries - 1); }
    if (response.status === 410) showGone(); // deleted, maybe in another tab
    throw new ApiError(response.status, data);
  }
  return data;
}

async function signUp() {
  const response = await fetch("/api/users", { method: "POST", headers: { Accept: "application/json" } });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  state.token = (await response.json()).token;
  localStorage.setItem(TOKEN_KEY, state.token);
}

/** An object URL for an item's bytes (fetched with the token; the browser caches them). */
async function contentUrl(url) {
  if (state.blobs.has(url)) return state.blobs.get(url);
  const response = await fetch(url, { headers: { Authorization: `Bearer ${state.token}` } });
  if (!response.ok) throw new ApiError(response.status, null);
  const objectUrl = URL.createObjectURL(await response.blob());
  state.blobs.set(url, objectUrl);
  return objectUrl;
}

function forget(items) {
  for (const item of items) {
    for (const url of Object.values(item.content)) {
      const objectUrl = state.blobs.get(url);
      if (objectUrl) { URL.revokeObjectURL(objectUrl); state.blobs.delete(url); }
    }
  }
}

// ------------------------------------------------------------- rendering
const NOUNS = {
  image: "Generated face",
  audio: "Piano roll of a generated melody",
  molecule: "Structure of a generated molecule",
  vector: "Bar chart of a latent vector",
};

function imageType() { return state.domain.media_types.find((t) => t.startsWith("image/")); }
function audioType() {
  const probe = document.createElement("audio");
  return state.domain.media_types.find((t) => t.startsWith("audio/") && probe.canPlayType(t) !== "");
}

function altText(item, index) {
  const noun = NOUNS[state.domain.modality] || `Generated ${state.domain.name} item`;
  const smiles = item.metadata && item.metadata.smiles;
  return `${noun} ${index}` + (smiles ? `: ${smiles}` : "");
}

/** A media box: the item's picture (if the domain has one), and a play button for audio. */
function mediaBox(item, index) {
  const box = el("div", "media");
  const picture = imageType();
  if (picture) {
    const img = el("img");
    img.alt = altText(item, index);
    img.decoding = "async";
    box.append(img);
    contentUrl(item.content[picture]).then((src) => { img.src = src; }).catch(() => { img.alt += " (could not load)"; });
  }
  const sound = audioType();
  if (sound) {
    const button = el("button", "play");
    button.type = "button";
    button.setAttribute("aria-label", `Play melody ${index}`);
    button.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>';
    button.addEventListener("pointerdown", (e) => e.stopPropagation());
    button.addEventListener("click", (e) => { e.stopPropagation(); play(item.content[sound], button); });
    box.append(button);
  }
  return box;
}

async function play(url, button) {
  if (state.audio) { state.audio.pause(); }
  const audio = new Audio(await contentUrl(url));
  state.audio = audio;
  button.setAttribute("aria-pressed", "true");
  audio.addEventListener("ended", () => button.setAttribute("aria-pressed", "false"));
  audio.play().catch(() => toast("This browser cannot play the melody."));
}

/** The item's facts (a molecule's SMILES and scores, a melody's notes): short scalars, the
 * first few on show and the rest behind "More". Pictures and vectors speak for themselves:
 * their measurements would only clutter the card. */
const SHOWN_FACTS = 4;
function properties(metadata) {
  if (state.domain.modality === "image" || state.domain.modality === "vector") return null;
  const rows = [];
  for (const [key, value] of Object.entries(metadata || {})) {
    if (value === null || typeof value === "object") continue;
    const text = typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : String(value);
    if (text.length > 90) continue;
    const row = el("div", text.length > 14 ? "wide" : "");
    row.append(el("dt", "", key.replace(/_/g, " ")), el("dd", "", text));
    rows.push(row);
  }
  if (rows.length === 0) return null;
  const box = el("div", "facts");
  const shown = el("dl", "props");
  shown.append(...rows.slice(0, SHOWN_FACTS));
  box.append(shown);
  if (rows.length > SHOWN_FACTS) {
    const more = el("details", "more");
    const rest = el("dl", "props");
    rest.append(...rows.slice(SHOWN_FACTS));
    more.append(el("summary", "", `${rows.length - SHOWN_FACTS} more`), rest);
    more.addEventListener("pointerdown", (e) => e.stopPropagation()); // not a swipe
    box.append(more);
  }
  return box;
}

function el(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

let serial = 0;
function cardFor(item) {
  serial += 1;
  const card = el("article", "card");
  card.setAttribute("aria-label", `Item ${serial}`);
  card.dataset.itemId = item.id;
  card.append(mediaBox(item, serial));
  const stamps = [el("span", "stamp like", "LIKE"), el("span", "stamp nope", "NOPE"), el("span", "stamp star", "SUPER")];
  for (const stamp of stamps) stamp.setAttribute("aria-hidden", "true"); // the drag's hint only
  card.append(...stamps);
  const meta = el("div", "meta");
  const title = el("div", "title");
  title.append(el("span", "", `#${serial}`), el("span", "badge", item.source === "explore" ? "discover" : "for you"));
  meta.append(title);
  const props = properties(item.metadata);
  if (props) meta.append(props);
  meta.append(chipsFor(item));
  card.append(meta);
  return card;
}

// -------------------------------------------------------------- criteria
/** Chips to rate a card on each criterion ("more energy" / "less energy"), without swiping it. */
function chipsFor(item) {
  const row = el("div", "criteria");
  row.dataset.itemId = item.id;
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", "Rate on criteria");
  row.addEventListener("pointerdown", (e) => e.stopPropagation()); // not a swipe
  for (const name of state.criteria) {
    const chip = el("span", "chip");
    chip.append(el("span", "chip-name", name));
    for (const [signal, word, arrow] of [["like", "More", "▲"], ["dislike", "Less", "▼"]]) {
      const button = el("button", `chip-${signal}`, arrow);
      button.type = "button";
      button.setAttribute("aria-label", `${word} ${name}`);
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => rateCriterion(item, name, signal, chip, button));
      chip.append(button);
    }
    row.append(chip);
  }
  return row;
}

async function rateCriterion(item, name, signal, chip, button) {
  const body = { item_id: item.id, signal, criterion: name, event_id: crypto.randomUUID() };
  try {
    await api("POST", "/api/feedback", body);
    for (const other of chip.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
    state.rated[name] = (state.rated[name] || 0) + 1;
    renderConstraints();
  } catch (error) {
    toast(error.message);
  }
}

async function loadCriteria() {
  try {
    const { rated, defined } = await api("GET", "/api/criteria");
    state.rated = rated;
    state.criteria = [...new Set([...(defined || []), ...Object.keys(rated), ...state.criteria])];
    refreshChips();
    renderConstraints();
  } catch (error) {
    toast(error.message);
  }
}

function addCriterion(event) {
  event.preventDefault();
  const name = $("criterion-name").value.trim();
  if (!name || state.criteria.includes(name)) return;
  state.criteria.push(name);
  $("criterion-name").value = "";
  refreshChips();
}

function refreshChips() {
  for (const row of document.querySelectorAll(".card .criteria")) {
    const item = queuedItems().find((i) => i.id === row.dataset.itemId);
    if (item) row.replaceWith(chipsFor(item));
  }
}

/** The constraint form of Perfect match: a slider per rated criterion, and what to maximize. */
function renderConstraints() {
  const names = Object.keys(state.rated).filter((n) => state.rated[n] > 0).sort();
  $("constraints").hidden = names.length === 0;
  const maximize = $("maximize");
  const chosen = maximize.value;
  maximize.replaceChildren(new Option("my overall taste", ""), ...names.map((n) => new Option(n, n)));
  maximize.value = names.includes(chosen) ? chosen : "";
  const rows = $("constraint-rows");
  const kept = new Map([...rows.querySelectorAll(".constraint")].map((r) => [r.dataset.name, r]));
  rows.replaceChildren(...names.map((name) => kept.get(name) || constraintRow(name)));
}

function constraintRow(name) {
  const row = el("div", "slider-row constraint");
  row.dataset.name = name;
  const id = `bound-${name.replace(/[^A-Za-z0-9]/g, "_")}`;
  const check = el("input");
  check.type = "checkbox";
  check.id = `${id}-on`;
  check.setAttribute("aria-label", `Require ${name}`);
  const label = el("label", "", `${name} at least `);
  label.htmlFor = id;
  const out = el("output", "", "70%");
  label.append(out);
  const range = el("input");
  range.type = "range";
  range.id = id;
  range.min = "5";
  range.max = "95";
  range.step = "5";
  range.value = "70";
  range.addEventListener("input", () => { out.textContent = `${range.value}%`; check.checked = true; });
  row.append(check, label, range);
  return row;
}

function loadConstrained() {
  const atLeast = {};
  for (const row of document.querySelectorAll("#constraint-rows .constraint")) {
    if (row.querySelector('input[type="checkbox"]').checked) {
      atLeast[row.dataset.name] = Number(row.querySelector('input[type="range"]').value) / 100;
    }
  }
  const body = { k: 6, maximize: $("maximize").value || null, at_least: atLeast };
  const caption = (item) => Object.entries(item.criteria || {}).map(([n, p]) => `${n} ${percent(p)}`).join(" · ") || `${percent(item.score)} match`;
  return fillGallery($("match-gallery"), "/api/criteria/recommendations", caption, body);
}

// -------------------------------------------------------------- contexts
async function loadContexts() {
  try {
    const { contexts } = await api("GET", "/api/contexts");
    const names = [...new Set([...contexts, ...(state.context ? [state.context] : [])])].sort();
    $("context").replaceChildren(new Option("Everyday", ""), ...names.map((n) => new Option(n, n)));
    $("context").value = state.context;
  } catch (error) {
    toast(error.message);
  }
}

/** Another context: its own taste (and ratings count); the deck starts over in it. */
async function switchContext(name) {
  state.context = name;
  if (name) localStorage.setItem(CONTEXT_KEY, name); else localStorage.removeItem(CONTEXT_KEY);
  forget(queuedItems());
  state.queue = [];
  $("deck").querySelectorAll(".card").forEach((card) => card.remove());
  setRatings(0, true);
  await loadContexts();
  toast(name ? `Context: ${name}.` : "Context: everyday.");
  await Promise.all([refill(), refreshStatus(), loadCriteria()]);
}

// ------------------------------------------------------------------ deck
async function refill() {
  if (state.fetching) return state.fetching;
  state.fetching = (async () => {
    try {
      const { cards } = await api("POST", `/api/cards?n=${BATCH}`);
      state.queue.push(...cards);
      renderDeck();
      refreshStatus();
    } catch (error) {
      toast(error.message);
    } finally {
      state.fetching = null;
    }
  })();
  return state.fetching;
}

function queuedItems() { return state.queue.flatMap((card) => card.items); }
// A pair or choice card: answered by picking one of its items, not by a like or dislike.
const topIsPick = () => state.queue.length > 0 && state.queue[0].items.length > 1;

function renderDeck() {
  const deck = $("deck");
  const wanted = state.queue.slice(0, 2).map((card) => card.items[0].id);
  for (const card of [...deck.querySelectorAll(".card")]) {
    if (!wanted.includes(card.dataset.itemId)) card.remove();
  }
  wanted.forEach((id, position) => {
    let card = deck.querySelector(`.card[data-item-id="${id}"]`);
    if (!card) {
      const next = state.queue[position];
      card = next.items.length > 1 ? pickCardFor(next.items) : cardFor(next.items[0]);
      deck.prepend(card); // the next card sits under the top one
    }
    card.classList.toggle("top", position === 0);
    card.classList.toggle("next", position === 1);
    card.setAttribute("aria-hidden", position === 0 ? "false" : "true");
    for (const choice of card.querySelectorAll(".choice")) choice.tabIndex = position === 0 ? 0 : -1;
    if (position === 0 && !card.dataset.shown) {
      card.dataset.shown = "1";
      state.shownAt = performance.now();
      if (!card.classList.contains("pick-card")) attachDrag(card);
    }
  });
  $("deck-empty").hidden = state.queue.length > 0;
  for (const button of document.querySelectorAll(".action")) button.disabled = state.queue.length === 0 || topIsPick();
}

/** A card of the feed answered by picking one of its items: "which of these two?" (a pair:
 * left or right, the arrow keys) or "which of these do you like most?" (a choice card: the
 * user's champion and challengers near it in a 2x2 grid, the keys 1-4). */
function pickCardFor(items) {
  serial += 1;
  const pair = items.length === 2;
  const question = pair ? "Which of these two?" : "Which of these do you like most?";
  const card = el("article", `card pick-card ${pair ? "pair-card" : "choice-card"}`);
  card.setAttribute("aria-label", `Item ${serial}: ${question.toLowerCase()}`);
  card.dataset.itemId = items[0].id;
  const title = el("div", "title");
  title.append(el("span", "", question), el("span", "badge", "for you"));
  const choices = el("div", pair ? "pair" : "choices");
  choices.setAttribute("role", "group");
  choices.setAttribute("aria-label", question);
  choices.append(...items.map((item, i) => {
    const side = i === 0 ? "left" : "right";
    const button = el("button", "choice");
    button.type = "button";
    button.dataset.itemId = item.id;
    if (pair) {
      button.setAttribute("aria-label", `Prefer the ${side} one`);
      button.setAttribute("aria-keyshortcuts", `${i === 0 ? "ArrowLeft" : "ArrowRight"} ${i + 1}`);
      button.append(mediaBox(item, `${serial} (${side})`), el("span", "label", `${i === 0 ? "←" : "→"} This one`));
    } else {
      button.setAttribute("aria-label", `Choose item ${i + 1} of ${items.length}`);
      button.setAttribute("aria-keyshortcuts", String(i + 1));
      const label = el("span", "label");
      label.append(el("kbd", "", String(i + 1)), " This one");
      button.append(mediaBox(item, `${serial} (${i + 1} of ${items.length})`), label);
    }
    button.addEventListener("click", () => pickInFeed(i));
    return button;
  }));
  card.append(title, choices);
  return card;
}

/** Answer the top pair or choice card: the picked item was preferred over each of the others
 * (one answer, one event). */
async function pickInFeed(index) {
  if (state.busy || !topIsPick() || index >= state.queue[0].items.length) return;
  state.busy = true;
  const { items } = state.queue[0];
  const chosen = items[index];
  const rest = items.filter((_, i) => i !== index);
  const card = $("deck").querySelector(`.card[data-item-id="${items[0].id}"]`);
  const pair = items.length === 2;
  if (card) {
    if (pair) {
      card.style.transform = `translate(${index === 0 ? -150 : 150}%, 0) rotate(${index === 0 ? -12 : 12}deg)`;
    } else {
      card.querySelectorAll(".choice")[index].classList.add("chosen");
      card.style.transform = "translate(0, -110%) scale(.9)";
    }
    card.style.opacity = "0";
  }
  const body = { preferred_id: chosen.id, other_id: rest[0].id, event_id: crypto.randomUUID() };
  if (rest.length > 1) body.others = rest.slice(1).map((item) => item.id);
  announce(pair ? `You preferred the ${index === 0 ? "left" : "right"} one.` : `You chose item ${index + 1} of ${items.length}.`);
  // A keyboard user who answered from inside the card stays in the deck, not on the page.
  const focused = document.activeElement;
  const refocus = $("deck").contains(focused) && focused.matches(":focus-visible");
  await sleep(180);
  state.queue.shift();
  forget(items);
  renderDeck();
  if (refocus) focusTop();
  state.busy = false;
  if (state.queue.length < REFILL_BELOW) refill();
  try {
    const result = await api("POST", "/api/compare", body);
    setRatings(result.ratings);
    if (result.ratings % 5 === 0) refreshStatus();
  } catch (error) {
    toast(error.message);
  }
}

/** Keyboard focus on the top card's first item, where it is a card to pick from. */
function focusTop() {
  const first = $("deck").querySelector(".card.top .choice");
  if (first) first.focus();
}

/** Say `message` to screen readers (the polite live region). */
function announce(message) {
  $("announce").textContent = message;
}

/** Rate the top card: fly it out, tell the server (with an idempotent event id), go on. */
async function rate(signal) {
  if (state.busy || state.queue.length === 0 || topIsPick()) return;
  state.busy = true;
  const item = state.queue[0].items[0];
  const card = $("deck").querySelector(`.card[data-item-id="${item.id}"]`);
  const dwell = Math.round((performance.now() - state.shownAt) / 10) / 100;
  const away = { like: [1, 0], superlike: [0, -1], dislike: [-1, 0], skip: [0, 1] }[signal];
  if (card) {
    card.classList.remove("dragging");
    card.style.transform = `translate(${away[0] * 150}%, ${away[1] * 130}%) rotate(${away[0] * 24}deg)`;
    card.style.opacity = "0";
  }
  const body = { item_id: item.id, signal, event_id: crypto.randomUUID(), dwell_seconds: dwell };
  await sleep(180);
  state.queue.shift();
  forget([item]);
  renderDeck();
  state.busy = false;
  if (state.queue.length < REFILL_BELOW) refill();
  try {
    const result = await api("POST", "/api/feedback", body);
    setRatings(result.ratings);
    if (result.ratings % 5 === 0) refreshStatus();
  } catch (error) {
    toast(error.message);
  }
}

function attachDrag(card) {
  let start = null;
  const stamps = {
    like: card.querySelector(".stamp.like"),
    nope: card.querySelector(".stamp.nope"),
    star: card.querySelector(".stamp.star"),
  };
  card.addEventListener("pointerdown", (event) => {
    if (state.busy || !card.classList.contains("top")) return;
    start = { x: event.clientX, y: event.clientY, t: performance.now() };
    card.setPointerCapture(event.pointerId);
    card.classList.add("dragging");
  });
  card.addEventListener("pointermove", (event) => {
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    card.style.transform = `translate(${dx}px, ${dy}px) rotate(${dx / 18}deg)`;
    stamps.like.style.opacity = String(Math.max(0, Math.min(1, dx / FLICK_DISTANCE)));
    stamps.nope.style.opacity = String(Math.max(0, Math.min(1, -dx / FLICK_DISTANCE)));
    stamps.star.style.opacity = String(Math.max(0, Math.min(1, -dy / FLICK_DISTANCE - Math.abs(dx) / 200)));
  });
  const release = (event) => {
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    const elapsed = Math.max(1, performance.now() - start.t);
    start = null;
    card.classList.remove("dragging");
    const fast = Math.hypot(dx, dy) / elapsed > FLICK_SPEED && Math.hypot(dx, dy) > 40;
    let signal = null;
    if (-dy > FLICK_DISTANCE && -dy > Math.abs(dx)) signal = "superlike";
    else if (Math.abs(dx) > FLICK_DISTANCE || (fast && Math.abs(dx) > Math.abs(dy))) signal = dx > 0 ? "like" : "dislike";
    else if (fast && -dy > Math.abs(dx)) signal = "superlike";
    if (signal) { rate(signal); return; }
    card.style.transform = "";
    for (const stamp of Object.values(stamps)) stamp.style.opacity = "0";
  };
  card.addEventListener("pointerup", release);
  card.addEventListener("pointercancel", release);
}

// ------------------------------------------------------------------ pair
async function loadPair() {
  const pair = $("pair");
  pair.replaceChildren(el("p", "placeholder", "Loading two items…"));
  try {
    const { items } = await api("POST", "/api/pair");
    if (state.pair) forget(state.pair);
    state.pair = items;
    pair.replaceChildren(...items.map((item, i) => {
      const side = i === 0 ? "left" : "right";
      const button = el("button", "choice");
      button.type = "button";
      button.setAttribute("aria-label", `Prefer the ${side} one`);
      button.setAttribute("aria-keyshortcuts", i === 0 ? "ArrowLeft" : "ArrowRight");
      button.append(mediaBox(item, i + 1), el("span", "label", `${i === 0 ? "←" : "→"} This one`));
      const props = properties(item.metadata);
      if (props) button.append(props);
      button.addEventListener("click", () => choose(i));
      return button;
    }));
  } catch (error) {
    pair.replaceChildren(el("p", "placeholder", error.message));
  }
}

async function choose(index) {
  if (!state.pair || state.busy) return;
  state.busy = true;
  const [a, b] = index === 0 ? state.pair : [state.pair[1], state.pair[0]];
  try {
    const result = await api("POST", "/api/compare", { preferred_id: a.id, other_id: b.id, event_id: crypto.randomUUID() });
    setRatings(result.ratings);
    await loadPair();
    if (result.ratings % 5 === 0) refreshStatus();
  } catch (error) {
    toast(error.message);
  } finally {
    state.busy = false;
  }
}

// -------------------------------------------------------------- galleries
// For-you shows an item the user already rated when nothing new is predicted better: say so.
const SHOWN_AGAIN = { favourite: "your favourite", liked: "you liked" };
async function fillGallery(gallery, path, caption, body = undefined) {
  const ticket = (gallery.ticket = (gallery.ticket || 0) + 1); // only the latest request shows
  gallery.replaceChildren(el("p", "placeholder", "Making items for you…"));
  gallery.setAttribute("aria-busy", "true");
  try {
    const { items } = await api(body === undefined ? "GET" : "POST", path, body);
    if (ticket !== gallery.ticket) return;
    forget(gallery.items || []);
    gallery.items = items;
    gallery.replaceChildren(...items.map((item, i) => {
      const tile = el("figure", "tile");
      const media = mediaBox(item, i + 1);
      if (SHOWN_AGAIN[item.source]) media.append(el("span", "badge", SHOWN_AGAIN[item.source]));
      tile.append(media);
      const text = el("figcaption");
      text.append(el("span", "", `#${i + 1}`), el("span", "score", caption(item)));
      tile.append(text);
      const props = properties(item.metadata);
      if (props) tile.append(props);
      return tile;
    }));
  } catch (error) {
    if (ticket === gallery.ticket) gallery.replaceChildren(el("p", "placeholder", error.message));
  } finally {
    if (ticket === gallery.ticket) gallery.removeAttribute("aria-busy");
  }
}

const percent = (x) => `${Math.round(100 * x)}%`;
function loadForYou() {
  return fillGallery($("foryou-gallery"), "/api/recommendations?k=12", (item) => `${percent(item.score)} match`);
}
function loadMatch() {
  const target = Number($("target").value) / 100;
  return fillGallery($("match-gallery"), `/api/reverse?target=${target}&n=6`, (item) => `predicted ${percent(item.score)}`);
}

// ------------------------------------------------------------ you / why
async function loadWhy() {
  try {
    const why = await api("GET", "/api/me/explain");
    $("why-summary").textContent = why.summary;
    const list = $("why-traits");
    const top = Math.max(1e-9, ...why.traits.map((t) => Math.abs(t.weight)));
    list.replaceChildren(...why.traits.map((trait) => {
      const row = el("li");
      row.setAttribute("aria-label", `${trait.weight > 0 ? "more" : "less"} ${trait.trait}`);
      const bar = el("span", "bar");
      const fill = el("span", trait.weight > 0 ? "pos" : "neg");
      const width = 50 * Math.abs(trait.weight) / top;
      fill.style.width = `${width}%`;
      if (trait.weight < 0) fill.style.left = `${50 - width}%`;
      bar.append(fill);
      row.append(el("span", "", trait.trait), bar, el("span", "", trait.weight > 0 ? "more" : "less"));
      return row;
    }));
  } catch (error) {
    toast(error.message);
  }
}

// ------------------------------------------------------------ people with your taste
async function loadPeople() {
  try {
    const status = await api("GET", "/api/me/matching");
    $("matching").checked = status.enabled;
    const list = $("people-list");
    list.replaceChildren();
    if (!status.enabled) {
      $("people-note").textContent = "Off: nobody is matched with you. Others only ever see a pseudonym and how similar you are, never your ratings.";
      return;
    }
    if (!status.available) {
      $("people-note").textContent = "On. No one to match with yet: matches appear after the next population refresh.";
      return;
    }
    const found = await api("GET", "/api/me/matches?k=5", undefined, 0);
    $("people-note").textContent = found.matches.length
      ? (status.listed ? "On: others can find you too." : "On: others can find you from the next refresh.")
      : "On. No one with a similar taste has opted in yet.";
    list.replaceChildren(...found.matches.map((match) => {
      const row = el("li", "person");
      row.append(el("span", "handle", match.handle), el("span", "badge", match.similarity));
      return row;
    }));
  } catch (error) {
    if (error.status !== 410) toast(error.message);
  }
}

async function setMatching() {
  try {
    await api("PUT", "/api/me/matching", { enabled: $("matching").checked });
    toast($("matching").checked ? "Matching is on." : "Matching is off: you are out of everyone's matches.");
  } catch (error) { toast(error.message); }
  await loadPeople();
}

async function refreshStatus() {
  try {
    const status = await api("GET", "/api/me");
    setRatings(status.ratings);
    $("confidence").textContent = percent(status.confidence);
    $("confidence-bar").style.width = percent(status.confidence);
    $("explore").value = String(Math.round(status.explore * 100));
    $("explore-out").textContent = percent(status.explore);
  } catch (error) {
    if (error.status !== 410) toast(error.message);
  }
}

// Answers may arrive out of order: the count only grows (until the user's data is deleted).
function setRatings(n, reset = false) {
  state.ratings = reset ? n : Math.max(state.ratings, n);
  $("rating-count").textContent = String(state.ratings);
}

async function exportData() {
  try {
    const data = await api("GET", "/api/me/export");
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    const link = el("a");
    link.href = url;
    link.download = "plgl-export.json";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    toast(`Exported ${data.events.length} ratings and ${data.items.length} items.`);
  } catch (error) {
    toast(error.message);
  }
}

async function deleteData() {
  try {
    await api("DELETE", "/api/me");
  } catch (error) {
    if (error.status !== 410) { toast(error.message); return; }
  }
  showGone();
}

/** The user's data is gone: forget the token and everything shown, offer a fresh start. */
function showGone() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(CONTEXT_KEY);
  state.token = null;
  state.context = "";
  state.criteria = [];
  state.rated = {};
  forget(queuedItems());
  state.queue = [];
  $("deck").querySelectorAll(".card").forEach((card) => card.remove());
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== "view-gone";
  setRatings(0, true);
  $("confidence").textContent = "–";
  $("confidence-bar").style.width = "0";
}

// -------------------------------------------------------------- tabs, keys
const LOADERS = {
  "view-pair": loadPair,
  "view-foryou": loadForYou,
  "view-match": () => { renderConstraints(); return loadMatch(); },
  "view-you": () => Promise.all([loadWhy(), loadPeople()]),
};

function select(tab) {
  for (const other of document.querySelectorAll('[role="tab"]')) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  $("view-gone").hidden = true;
  const loader = LOADERS[tab.getAttribute("aria-controls")];
  if (loader) loader();
}

function currentView() {
  const tab = document.querySelector('[role="tab"][aria-selected="true"]');
  return tab ? tab.getAttribute("aria-controls") : null;
}

function onKey(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  if (target.matches && target.matches("input, textarea, select, [role='tab']")) return;
  if (document.querySelector("dialog[open]")) return;
  const view = currentView();
  if (view === "view-swipe" && topIsPick()) {
    const pair = state.queue[0].items.length === 2;
    if (/^[1-9]$/.test(event.key)) {
      event.preventDefault();
      pickInFeed(Number(event.key) - 1);
    } else if (pair && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      event.preventDefault();
      pickInFeed(event.key === "ArrowLeft" ? 0 : 1);
    }
  } else if (view === "view-swipe") {
    const signal = { ArrowRight: "like", ArrowLeft: "dislike", ArrowUp: "superlike", ArrowDown: "skip" }[event.key];
    if (signal) { event.preventDefault(); rate(signal); }
  } else if (view === "view-pair" && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
    event.preventDefault();
    choose(event.key === "ArrowLeft" ? 0 : 1);
  }
}

function onTabKey(event) {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const index = tabs.indexOf(event.target);
  let next = null;
  if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
  else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs[tabs.length - 1];
  if (next) { event.preventDefault(); next.focus(); select(next); }
}

function toast(message) {
  const box = $("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function start() {
  if (!state.token) await signUp();
  state.domain = await api("GET", "/api/domain");
  document.body.dataset.domain = state.domain.name;
  await Promise.all([loadContexts(), loadCriteria()]);
  await refill();
}

function wire() {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", onTabKey);
  }
  document.addEventListener("keydown", onKey);
  $("btn-like").addEventListener("click", () => rate("like"));
  $("btn-dislike").addEventListener("click", () => rate("dislike"));
  $("btn-superlike").addEventListener("click", () => rate("superlike"));
  $("btn-skip").addEventListener("click", () => rate("skip"));
  $("btn-refresh-foryou").addEventListener("click", loadForYou);
  $("btn-match").addEventListener("click", loadMatch);
  $("btn-why").addEventListener("click", loadWhy);
  $("btn-people").addEventListener("click", loadPeople);
  $("matching").addEventListener("change", setMatching);
  $("target").addEventListener("input", () => { $("target-out").textContent = `${$("target").value}%`; });
  $("target").addEventListener("change", loadMatch);
  $("explore").addEventListener("input", () => { $("explore-out").textContent = `${$("explore").value}%`; });
  $("explore").addEventListener("change", async () => {
    try {
      await api("PUT", "/api/me/adventurousness", { share: Number($("explore").value) / 100 });
      toast(`Adventurousness set to ${$("explore").value}%.`);
    } catch (error) { toast(error.message); }
  });
  $("criterion-form").addEventListener("submit", addCriterion);
  $("btn-constrained").addEventListener("click", loadConstrained);
  $("context").addEventListener("change", () => switchContext($("context").value));
  $("btn-new-context").addEventListener("click", () => {
    const form = $("context-form");
    form.hidden = !form.hidden;
    $("btn-new-context").setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) $("context-name").focus();
  });
  $("context-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("context-name").value.trim();
    if (!name) return;
    $("context-form").hidden = true;
    $("btn-new-context").setAttribute("aria-expanded", "false");
    $("context-name").value = "";
    switchContext(name);
  });
  $("btn-export").addEventListener("click", exportData);
  $("btn-delete").addEventListener("click", () => $("confirm-delete").showModal());
  $("confirm-delete").addEventListener("close", () => {
    if ($("confirm-delete").returnValue === "delete") deleteData();
  });
  $("btn-restart").addEventListener("click", async () => {
    await signUp();
    select($("tab-swipe"));
    await refill();
  });
}

wire();
start().catch((error) => toast(`Could not start: ${error.message}`));
