// consent-guard moderator console: review queue, case, decisions, appeals, the moderators' inbox.
// Plain ES modules, no build step. Every string from the API is rendered as text (dom.js), never as HTML.

import { Api, ApiError } from "./api.js";
import { Auth } from "./auth.js";
import { age, badge, duration, h, label, replace, when } from "./dom.js";
import { showStats } from "./stats.js";

const main = document.getElementById("main");
const statusBar = document.getElementById("status");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const help = document.getElementById("help");
const signOutButton = document.getElementById("sign-out");

const OUTCOME_KEYS = { r: "remove", n: "no_violation", e: "escalate" };
const OUTCOME_LABELS = { remove: "Remove", no_violation: "No violation", escalate: "Escalate" };
const STATE_LABELS = { in_review: "in review", appealed: "appealed", actioned: "actioned", dismissed: "dismissed" };

let config = { auth: "local", api: "", mediaUrlTemplate: "" };
let auth;
let api;
let screen = { keys: {} }; // the screen on show: its keyboard shortcuts
// the last queue listed, so j/k and "submit & next" can move through it from a case
const list = { queue: "review", category: "", items: [], cursors: [null], next: null, selected: 0 };
const reveals = new Map(); // case id -> Set of media ids this person revealed (this tab only)

// ------------------------------------------------------------------ small pieces

function say(text, kind = "info") {
  replace(statusBar, text ? h("span", { class: `note ${kind}` }, text) : "");
}

function section(title, id, ...children) {
  const headingId = `${id}-title`;
  return h("section", { class: "panel", id, "aria-labelledby": headingId }, h("h2", { id: headingId }, title), ...children);
}

function facts(rows) {
  return h(
    "dl",
    { class: "facts" },
    rows.filter(Boolean).flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value ?? "—")]),
  );
}

function errorText(err) {
  if (err instanceof ApiError) {
    const fields = (err.body.errors || []).map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
    return `${err.status}: ${err.message}${fields ? ` (${fields})` : ""}`;
  }
  return String(err.message || err);
}

function isOverdue(summary, now = Date.now()) {
  return Boolean(summary.review_due_at) && new Date(summary.review_due_at).getTime() < now;
}

function slaCell(summary) {
  if (!summary.review_due_at) return "—";
  const due = new Date(summary.review_due_at).getTime();
  const now = Date.now();
  return isOverdue(summary, now)
    ? h("span", { class: "overdue" }, badge("Overdue", "danger"), ` by ${duration(now - due)}`)
    : h("span", {}, `in ${duration(due - now)}`);
}

function caseBadges(summary) {
  return [
    summary.trusted_flagger ? badge("Trusted flagger", "trusted") : null,
    summary.category === "intimate_media" ? badge("Intimate media", "intimate") : null,
  ];
}

// ------------------------------------------------------------------ routing

function route() {
  if (!auth.signedIn()) return showSignIn();
  const hash = location.hash || "#/queue";
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query || "");
  renderChrome(parts[0]);
  if (parts[0] === "case" && parts[1]) return showCase(decodeURIComponent(parts[1]));
  if (parts[0] === "appeals") return showQueue("appeals", params.get("category") || "");
  if (parts[0] === "inbox") return showInbox(params.get("inbox") || "");
  if (parts[0] === "stats") {
    screen = { keys: {} };
    return showStats(api, main, params, errorText, go);
  }
  return showQueue("review", params.get("category") || "");
}

function renderChrome(current) {
  const person = auth.person();
  nav.hidden = false;
  signOutButton.hidden = false;
  nav.querySelector("[data-screen=stats]").hidden = !(person && person.groups.includes("admins"));
  who.textContent = person ? `${person.sub} · ${person.groups.join(", ") || "no groups"}` : "";
  for (const link of nav.querySelectorAll("a")) {
    const active = link.dataset.screen === current || (current === "case" && link.dataset.screen === list.queueScreen);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ------------------------------------------------------------------ sign-in

function showSignIn(message) {
  nav.hidden = true;
  signOutButton.hidden = true;
  who.textContent = "";
  screen = { keys: {} };
  if (config.auth === "cognito") {
    replace(
      main,
      section(
        "Sign in",
        "signin",
        h("p", {}, "Sign in with your organisation's account (Cognito hosted UI)."),
        h("button", { type: "button", id: "cognito-sign-in", onclick: () => auth.startCognito() }, "Sign in"),
      ),
    );
    return;
  }
  const error = h("p", { id: "signin-error", class: "note danger", role: "alert" }, message || "");
  const groupBox = (value, text, checked) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "groups", value, checked }), ` ${text}`);
  const form = h(
    "form",
    { id: "signin-form", "aria-describedby": "signin-help" },
    h("p", { id: "signin-help" }, "Development sign-in of the local stack: pick who you are and your groups, get a local token. Deployed, Cognito's hosted UI signs you in."),
    h("label", { for: "signin-sub" }, "Subject (user id)"),
    h("input", { id: "signin-sub", name: "sub", required: true, value: "moderator-1", autocomplete: "username", pattern: "[A-Za-z0-9_\\-:.]{1,128}" }),
    h("fieldset", {}, h("legend", {}, "Groups"), groupBox("moderators", "moderators", true), groupBox("appeals", "appeals", false), groupBox("admins", "admins", false)),
    h("button", { type: "submit", id: "signin-submit" }, "Sign in"),
    error,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const sub = form.elements.sub.value.trim();
    const groups = [...form.querySelectorAll("input[name=groups]:checked")].map((i) => i.value);
    try {
      await auth.signInLocal(sub, groups);
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  replace(main, section("Sign in", "signin", form));
  form.elements.sub.focus();
}

// ------------------------------------------------------------------ queues

async function showQueue(queue, category) {
  const appeals = queue === "appeals";
  list.queueScreen = appeals ? "appeals" : "queue";
  if (list.queue !== queue || list.category !== category) {
    Object.assign(list, { queue, category, cursors: [null], selected: 0 });
  }
  const title = appeals ? "Appeals queue" : "Review queue";
  const body = h("div", { id: "queue-body" }, h("p", {}, "Loading…"));
  replace(main, section(title, "queue", body));
  screen = { keys: {} };
  let page;
  let counts;
  try {
    [page, counts] = await Promise.all([
      api.queue(queue, { cursor: list.cursors[list.cursors.length - 1], category }),
      api.counts(queue),
    ]);
  } catch (err) {
    replace(body, h("p", { class: "note danger", role: "alert" }, errorText(err)));
    return;
  }
  list.items = page.items;
  list.next = page.next_cursor;
  list.selected = Math.min(list.selected, Math.max(page.items.length - 1, 0));

  const filter = h(
    "select",
    {
      id: "category-filter",
      "aria-label": "Filter by category",
      onchange: (ev) => {
        list.cursors = [null];
        list.selected = 0;
        go(`#/${list.queueScreen}${ev.target.value ? `?category=${encodeURIComponent(ev.target.value)}` : ""}`);
      },
    },
    h("option", { value: "" }, `All categories (${counts.total})`),
    Object.entries(counts.categories).map(([name, c]) =>
      h("option", { value: name, selected: name === category }, `${label(name)} (${c.cases}${c.overdue ? `, ${c.overdue} overdue` : ""})`),
    ),
  );
  if (category && !counts.categories[category]) filter.append(h("option", { value: category, selected: true }, `${label(category)} (0)`));

  const summary = h(
    "p",
    { id: "queue-counts", class: "counts" },
    `${counts.total} case${counts.total === 1 ? "" : "s"} waiting`,
    counts.overdue ? h("span", { class: "overdue" }, ` · ${counts.overdue} overdue`) : "",
    category ? ` · showing ${label(category)}` : "",
  );

  const rows = page.items.map((c, i) =>
    h(
      "tr",
      { dataset: { caseId: c.case_id, index: String(i) }, class: isOverdue(c) ? "overdue-row" : "" },
      h("td", {}, appeals ? label(c.appellant_role) : String(c.review_priority ?? "—")),
      h("td", {}, h("a", { href: `#/case/${encodeURIComponent(c.case_id)}`, class: "case-link" }, c.case_id)),
      h("td", {}, label(c.category), " ", caseBadges(c)),
      h("td", { class: "num" }, c.report_count ?? "—"),
      h("td", {}, appeals ? age(c.appeal_filed_at) : age(c.queued_at)),
      h("td", {}, appeals ? when(c.appeal_filed_at) : slaCell(c)),
      h("td", {}, c.claimed_by ? `claimed by ${c.claimed_by}` : "open"),
    ),
  );
  const table = page.items.length
    ? h(
        "table",
        { id: "queue-table", class: "queue", "aria-describedby": "queue-counts" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Priority", "Case", "Category", "Reports", "Age", appeals ? "Appeal filed" : "SLA due", "Claim"].map((t, i) =>
              h("th", { scope: "col" }, i === 0 && appeals ? "Appellant" : t),
            ),
          ),
        ),
        h("tbody", {}, rows),
      )
    : h("p", { id: "queue-empty" }, "Nothing waiting here.");

  const pager = h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", id: "first-page", disabled: list.cursors.length === 1, onclick: () => { list.cursors = [null]; list.selected = 0; route(); } }, "First page"),
    h("button", { type: "button", id: "prev-page", disabled: list.cursors.length === 1, onclick: () => { list.cursors.pop(); list.selected = 0; route(); } }, "Previous page"),
    h("span", {}, `Page ${list.cursors.length}`),
    h("button", { type: "button", id: "next-page", disabled: !list.next, onclick: () => { list.cursors.push(list.next); list.selected = 0; route(); } }, "Next page"),
  );
  replace(body, h("div", { class: "toolbar" }, filter, summary), table, pager);

  const select = (index, focus = true) => {
    if (!rows.length) return;
    list.selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.setAttribute("aria-selected", String(i === list.selected)));
    const link = rows[list.selected].querySelector("a");
    if (focus) link.focus();
    rows[list.selected].scrollIntoView({ block: "nearest" });
  };
  select(list.selected, false);
  screen = {
    keys: {
      j: () => select(list.selected + 1),
      ArrowDown: () => select(list.selected + 1),
      k: () => select(list.selected - 1),
      ArrowUp: () => select(list.selected - 1),
      Enter: () => rows.length && go(`#/case/${encodeURIComponent(list.items[list.selected].case_id)}`),
    },
  };
}

// ------------------------------------------------------------------ the case

async function showCase(caseId, keep = null) {
  screen = { keys: {} };
  if (!keep) replace(main, h("p", {}, "Loading case…"));
  let view;
  try {
    view = await api.case(caseId);
  } catch (err) {
    replace(main, h("p", { class: "note danger", role: "alert" }, errorText(err)), h("p", {}, h("a", { href: "#/queue" }, "Back to the queue")));
    return;
  }
  const index = list.items.findIndex((c) => c.case_id === caseId);
  if (index >= 0) list.selected = index;
  const state = keep || { outcome: null, ruleId: null, note: "", unfounded: false, preview: null, result: null };
  state.view = view;
  state.version = view.case.version;
  const rulesNeeded = ["in_review", "appealed"].includes(view.case.state);
  state.rules = rulesNeeded ? state.rules || (await api.rules(view.case.category).catch(() => null)) : null;
  renderCase(state);
}

function renderCase(state) {
  const { view } = state;
  const c = view.case;
  const me = auth.person();
  const header = h(
    "header",
    { class: "case-header" },
    h("h1", { id: "case-title" }, `Case ${c.case_id}`),
    h(
      "p",
      { class: "case-meta" },
      badge(STATE_LABELS[c.state] || label(c.state), `state-${c.state}`),
      " ",
      label(c.category),
      " ",
      caseBadges(c),
      ` · version ${state.version}`,
      c.review_priority != null ? ` · priority ${c.review_priority}` : "",
      c.queued_at ? ` · waiting ${age(c.queued_at)}` : "",
      c.review_due_at ? h("span", {}, " · SLA ", slaCell(c)) : "",
      c.claimed_by ? ` · claimed by ${c.claimed_by === me.sub ? "you" : c.claimed_by} until ${when(c.claim_expires_at)}` : "",
    ),
    h("p", {}, h("a", { href: `#/${list.queueScreen || "queue"}` }, "Back to the queue"), " · ", h("span", { class: "hint" }, "j / k: next / previous case · ? shortcuts")),
  );

  const left = h("div", { class: "col" }, postPanel(state), reportsPanel(view), appealInfo(view));
  const right = h("div", { class: "col" }, actionPanel(state), decisionPanel(view), strikesPanel(view), hashPanel(view), timelinePanel(view));
  replace(main, header, h("div", { class: "case-grid" }, left, right));
  bindCaseKeys(state);
}

function postPanel(state) {
  const { view } = state;
  const post = view.post;
  if (!post) return section("Post", "post", h("p", {}, "The platform has not supplied this post's facts yet."));
  const signals = Object.entries(post.signals || {}).filter(([, v]) => v).map(([k]) => label(k));
  const revealed = reveals.get(view.case.case_id) || new Set();
  const viewedBy = {};
  for (const e of view.events || []) if (e.type === "media_viewed") (viewedBy[e.data.media_id] ||= []).push(e);
  const media = post.media.map((m) => mediaItem(state, m, revealed.has(m.media_id), viewedBy[m.media_id] || []));
  return section(
    "Post",
    "post",
    facts([
      ["Post", post.post_id],
      ["Author", post.author_id],
      ["Signals", signals.length ? signals.join(", ") : "none"],
      ["Deleted", post.deleted ? "yes" : "no"],
      ["Reshare", post.is_reshare ? "yes" : "no"],
    ]),
    h("h3", {}, "Text"),
    h("p", { class: "post-text", id: "post-text" }, post.text || "(no text)"),
    h("h3", {}, `Media (${post.media.length})`),
    post.media.length ? h("ul", { class: "media-list" }, media) : h("p", {}, "No media."),
  );
}

function mediaItem(state, m, revealed, views) {
  const caseId = state.view.case.case_id;
  const name = `${m.media_type} ${m.media_id}`;
  const content = h("div", { class: "media-content", "aria-hidden": revealed ? "false" : "true" }, h("span", { class: "media-label" }, name));
  if (revealed && config.mediaUrlTemplate) {
    content.append(h("img", { src: config.mediaUrlTemplate.replace("{media_id}", encodeURIComponent(m.media_id)), alt: `${name} from the platform` }));
  }
  const button = h(
    "button",
    {
      type: "button",
      class: "reveal",
      "aria-pressed": String(revealed),
      disabled: revealed,
      onclick: async () => {
        button.disabled = true;
        try {
          const seen = await api.mediaViewed(caseId, m.media_id);
          if (!reveals.has(caseId)) reveals.set(caseId, new Set());
          reveals.get(caseId).add(m.media_id);
          say(`Revealed ${name}; your view is recorded on the case (${when(seen.viewed_at)}).`);
          await showCase(caseId, state);
        } catch (err) {
          button.disabled = false;
          say(`Could not reveal ${name}: ${errorText(err)}`, "danger");
        }
      },
    },
    revealed ? `Revealed: ${name}` : `Reveal ${name}`,
  );
  const seen = views.length ? `Viewed ${views.length}×, last by ${views[views.length - 1].actor} at ${when(views[views.length - 1].at)}` : "Not viewed yet";
  return h(
    "li",
    { class: `media ${revealed ? "revealed" : "concealed"}`, dataset: { mediaId: m.media_id } },
    content,
    button,
    h("p", { class: "hint" }, seen),
  );
}

function reportsPanel(view) {
  const reports = view.reports || [];
  return section(
    `Reports (${reports.length})`,
    "reports",
    reports.length
      ? h(
          "ol",
          { class: "reports" },
          reports.map((r) =>
            h(
              "li",
              { class: "report", dataset: { reportId: r.report_id } },
              h("p", {}, h("strong", {}, r.reporter_id), ` · ${label(r.relationship)} · ${when(r.submitted_at)} `, r.trusted_flagger ? badge("Trusted flagger", "trusted") : "", r.live_location ? badge("Live location", "danger") : ""),
              h("p", { class: "hint" }, "Attested: ", Object.entries(r.attestations).filter(([, v]) => v).map(([k]) => label(k)).join(", ") || "nothing"),
              h("blockquote", { class: "report-description" }, r.description || "(no description)"),
            ),
          ),
        )
      : h("p", {}, "No reports visible."),
  );
}

function appealInfo(view) {
  if (!view.appeal) return null;
  return section(
    "Appeal",
    "appeal",
    facts([
      ["Appellant", label(view.appeal.appellant_role)],
      ["Filed", when(view.appeal.filed_at)],
    ]),
    h("h3", {}, "Reason given"),
    h("blockquote", { class: "appeal-reason" }, view.appeal.reason || "(none)"),
  );
}

function decisionPanel(view) {
  const d = view.decision;
  if (!d) return section("Decision", "decision", h("p", {}, "No decision yet."));
  return section(
    "Decision",
    "decision",
    facts([
      ["Outcome", label(d.outcome)],
      ["Enforcement", label(d.enforcement)],
      ["Rules", d.rule_ids.join(", ")],
      ["Policy version", d.policy_version],
      ["Automated", d.automated ? "yes" : "no"],
      ["Decided", `${when(d.decided_at)}${d.decided_by ? ` by ${d.decided_by}` : ""}`],
      ["Measures in force", view.measures_active.length ? view.measures_active.join(", ") : "none"],
    ]),
    d.reasons.length ? [h("h3", {}, "Reasons and exceptions weighed"), h("ul", {}, d.reasons.map((r) => h("li", {}, r)))] : null,
    h("h3", {}, "Statement of reasons"),
    h("p", { class: "statement" }, d.statement_of_reasons),
  );
}

function strikesPanel(view) {
  const strikes = view.author_strikes || [];
  return section(
    `Author's strikes (${strikes.length})`,
    "strikes",
    strikes.length
      ? h("ul", {}, strikes.map((s) => h("li", {}, `${s.rule_id} on ${label(s.category)} (case ${s.case_id}), ${when(s.issued_at)}, expires ${when(s.expires_at)}`)))
      : h("p", {}, "None in force."),
  );
}

function hashPanel(view) {
  const matches = view.hash_matches;
  if (!Array.isArray(matches)) return null; // the API has no hash bank yet
  return section(
    `Hash matches (${matches.length})`,
    "hash-matches",
    matches.length ? h("ul", {}, matches.map((m) => h("li", {}, Object.entries(m).map(([k, v]) => `${label(k)}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(" · ")))) : h("p", {}, "No matches."),
  );
}

function timelinePanel(view) {
  const events = view.events || [];
  return section(
    `History (${events.length})`,
    "timeline",
    h(
      "ol",
      { class: "timeline" },
      events.map((e) =>
        h(
          "li",
          { dataset: { type: e.type } },
          h("span", { class: "when" }, when(e.at)),
          " ",
          h("strong", {}, label(e.type)),
          ` by ${e.actor}`,
          Object.keys(e.data || {}).length
            ? h("span", { class: "event-data" }, " — ", Object.entries(e.data).filter(([, v]) => v !== "" && v !== null && v !== false).map(([k, v]) => `${label(k)}: ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v}`).join(" · "))
            : "",
        ),
      ),
    ),
  );
}

// ------------------------------------------------------------------ actions

function actionPanel(state) {
  const c = state.view.case;
  if (c.state === "in_review" && (auth.has("moderators") || auth.has("admins"))) return reviewActions(state);
  if (c.state === "appealed" && auth.has("appeals")) return appealActions(state);
  return section("Actions", "actions", h("p", {}, c.state === "in_review" || c.state === "appealed" ? "Your groups cannot act on this case." : `Nothing to decide: the case is ${label(c.state)}.`), resultBox(state));
}

function resultBox(state) {
  const box = h("div", { id: "action-result", role: "alert", "aria-live": "assertive" });
  const r = state.result;
  if (!r) return box;
  if (r.kind === "ok") {
    box.append(h("p", { class: "note ok" }, r.text));
  } else if (r.kind === "conflict") {
    const cur = r.body.current || {};
    const d = cur.decision;
    box.append(
      h(
        "div",
        { class: "note danger conflict", id: "conflict" },
        h("p", {}, h("strong", {}, "409 Conflict: "), r.body.message || "someone else changed this case first."),
        cur.state ? h("p", {}, `The case is now ${label(cur.state)} (version ${cur.version}).`) : null,
        r.body.claimed_by ? h("p", {}, `Claimed by ${r.body.claimed_by}.`) : null,
        d
          ? h("p", { id: "winner-decision" }, `Winner's decision: ${label(d.outcome)} (${d.rule_ids.join(", ")}), enforcement ${label(d.enforcement)}, policy ${d.policy_version}, ${d.automated ? "automated" : "by a person"}.`)
          : null,
        h("button", { type: "button", onclick: () => showCase(c(state), null) }, "Reload the case"),
      ),
    );
  } else {
    box.append(h("p", { class: "note danger" }, r.text));
  }
  return box;
}

function c(state) {
  return state.view.case.case_id;
}

function ruleSelect(state, outcome) {
  const rules = (state.rules && state.rules.outcomes[outcome]) || [];
  if (outcome && rules.length && !rules.some((r) => r.rule_id === state.ruleId)) state.ruleId = rules[0].rule_id;
  const select = h(
    "select",
    {
      id: "rule",
      disabled: !rules.length,
      "aria-describedby": "rule-text",
      onchange: (ev) => {
        state.ruleId = ev.target.value;
        state.preview = null;
        renderCase(state);
        loadPreview(state);
      },
    },
    rules.length ? rules.map((r) => h("option", { value: r.rule_id, selected: r.rule_id === state.ruleId }, `${r.rule_id} — ${r.heading}`)) : h("option", { value: "" }, outcome ? "no rule needed" : "pick an outcome first"),
  );
  const chosen = rules.find((r) => r.rule_id === state.ruleId);
  return [
    h("label", { for: "rule" }, "Rule cited"),
    select,
    h("p", { id: "rule-text", class: "hint" }, chosen ? chosen.text : ""),
  ];
}

function previewBox(state, outcome, audience) {
  const box = h("div", { id: "preview", class: "preview", "aria-live": "polite" });
  if (!outcome) return replace(box, h("p", { class: "hint" }, "Pick an outcome to see the statement of reasons."));
  if (outcome === "escalate") return replace(box, h("p", {}, "Escalating sends the case to the top of the queue for a senior moderator; no statement is sent."));
  const p = state.preview;
  if (!p || p.error) return replace(box, h("p", { class: p?.error ? "note danger" : "hint" }, p?.error || "Preparing the statement of reasons…"));
  return replace(
    box,
    h("h3", {}, audience),
    h("p", { class: "statement", id: "preview-statement" }, p.statement_of_reasons),
    h("p", { class: "hint" }, `Enforcement: ${label(p.enforcement)}${p.issues_strike ? " · issues a strike" : ""} · rules ${p.rule_ids.join(", ")} · policy ${p.policy_version}`),
  );
}

async function loadPreview(state) {
  const outcome = state.previewOutcome;
  if (!outcome || outcome === "escalate" || !state.ruleId) return;
  const key = `${outcome}:${state.ruleId}`;
  state.previewKey = key;
  try {
    const preview = await api.preview(c(state), outcome, state.ruleId);
    if (state.previewKey !== key) return;
    state.preview = preview;
  } catch (err) {
    if (state.previewKey !== key) return;
    state.preview = { error: `No preview: ${errorText(err)}` };
  }
  if (document.getElementById("preview")) renderCase(state);
}

function choose(state, outcome, previewOutcome) {
  state.outcome = outcome;
  state.previewOutcome = previewOutcome;
  state.preview = null;
  state.result = null;
  renderCase(state);
  loadPreview(state);
}

function noteField(state) {
  return [
    h("label", { for: "note" }, "Note for the case file (staff only, never sent)"),
    h("textarea", { id: "note", rows: "3", maxlength: "2000", value: state.note, oninput: (ev) => { state.note = ev.target.value; } }),
  ];
}

function submitButtons(state, ready, submit) {
  return h(
    "div",
    { class: "buttons" },
    h("button", { type: "button", id: "submit", class: "primary", disabled: !ready, "aria-keyshortcuts": "s", onclick: () => submit(false) }, "Submit ", h("kbd", {}, "s")),
    h("button", { type: "button", id: "submit-next", disabled: !ready, "aria-keyshortcuts": "Shift+S", onclick: () => submit(true) }, "Submit & next ", h("kbd", {}, "Shift+S")),
  );
}

function claimLine(state) {
  const view = state.view;
  const me = auth.person().sub;
  const claim = view.case.claimed_by && new Date(view.case.claim_expires_at).getTime() > Date.now() ? view.case.claimed_by : null;
  state.claim = async () => {
    if (claim === me) return;
    try {
      const claimed = await api.claim(c(state));
      say(`You claimed ${c(state)} until ${when(claimed.claim_expires_at)}.`, "ok");
      await showCase(c(state), { ...state, result: null });
    } catch (err) {
      state.result = err instanceof ApiError && err.status === 409 ? { kind: "conflict", body: err.body } : { kind: "error", text: errorText(err) };
      renderCase(state);
    }
  };
  return h(
    "p",
    { id: "claim-status" },
    claim ? (claim === me ? `Claimed by you until ${when(view.case.claim_expires_at)}.` : `Claimed by ${claim} until ${when(view.case.claim_expires_at)}.`) : "Not claimed. ",
    claim === me ? "" : h("button", { type: "button", id: "claim", "aria-keyshortcuts": "c", disabled: Boolean(claim), onclick: () => state.claim() }, "Claim ", h("kbd", {}, "c")),
  );
}

function reviewActions(state) {
  const view = state.view;
  const outcomes = h(
    "fieldset",
    { class: "outcomes" },
    h("legend", {}, "Outcome"),
    Object.entries(OUTCOME_KEYS).map(([key, outcome]) =>
      h(
        "label",
        { class: "radio" },
        h("input", { type: "radio", name: "outcome", value: outcome, checked: state.outcome === outcome, "aria-keyshortcuts": key, onchange: () => choose(state, outcome, outcome) }),
        ` ${OUTCOME_LABELS[outcome]} `,
        h("kbd", {}, key),
      ),
    ),
  );
  const unfounded =
    state.outcome === "no_violation"
      ? h("label", { class: "check" }, h("input", { type: "checkbox", id: "unfounded", checked: state.unfounded, onchange: (ev) => { state.unfounded = ev.target.checked; } }), " The reports were manifestly unfounded (counts towards the reporters' EU DSA Art. 23 record)")
      : null;
  const ready = state.outcome === "escalate" || Boolean(state.outcome && state.ruleId && state.preview && !state.preview.error);
  const submit = async (next) => {
    if (!ready || state.busy) return;
    state.busy = true;
    const body = { outcome: state.outcome, version: state.version, note: state.note };
    if (state.outcome !== "escalate") body.rule_id = state.ruleId;
    if (state.outcome === "no_violation" && state.unfounded) body.manifestly_unfounded = true;
    try {
      const decided = await api.decide(c(state), body);
      const d = decided.decision;
      say(state.outcome === "escalate" ? `Case ${c(state)} escalated.` : `Case ${c(state)} decided: ${label(d.outcome)} (${d.rule_ids.join(", ")}).`, "ok");
      state.busy = false;
      if (next) return openNext(c(state));
      await showCase(c(state), { result: { kind: "ok", text: "Saved." } });
    } catch (err) {
      state.busy = false;
      state.result = err instanceof ApiError && err.status === 409 ? { kind: "conflict", body: err.body } : { kind: "error", text: errorText(err) };
      renderCase(state);
      document.getElementById("action-result")?.focus?.();
    }
  };
  state.submit = submit;
  return section(
    "Decide",
    "actions",
    claimLine(state),
    outcomes,
    ruleSelect(state, state.outcome === "escalate" ? null : state.outcome),
    unfounded,
    noteField(state),
    previewBox(state, state.outcome, state.outcome === "remove" ? "Statement of reasons the author will receive" : "Statement of reasons recorded with the decision"),
    submitButtons(state, ready, submit),
    resultBox(state),
  );
}

function appealActions(state) {
  const view = state.view;
  const me = auth.person().sub;
  const d = view.decision;
  const decider = d ? d.decided_by : null;
  const own = decider === me;
  const overturnTo = d && d.outcome === "remove" ? "no_violation" : "remove";
  const rule = h(
    "div",
    { class: "rule-notice", id: "decider-rule" },
    h("p", {}, h("strong", {}, "Original decision: "), d ? `${label(d.outcome)} by ${d.automated ? "automation" : decider}, ${when(d.decided_at)}.` : "none."),
    h("p", {}, "An appeal is decided by someone other than the person who made the decision."),
    own ? h("p", { class: "note danger", id: "own-decision" }, "You made this decision, so you cannot decide its appeal. Leave it for another appeal reviewer.") : null,
  );
  const results = h(
    "fieldset",
    { class: "outcomes", disabled: own },
    h("legend", {}, "Appeal result"),
    [
      ["uphold", "Uphold the decision", "u"],
      ["overturn", `Overturn: ${label(overturnTo)}`, "o"],
    ].map(([value, text, key]) =>
      h(
        "label",
        { class: "radio" },
        h("input", { type: "radio", name: "appeal-result", value, checked: state.outcome === value, "aria-keyshortcuts": key, onchange: () => choose(state, value, value === "overturn" ? overturnTo : null) }),
        ` ${text} `,
        h("kbd", {}, key),
      ),
    ),
  );
  const ready = !own && (state.outcome === "uphold" || Boolean(state.outcome === "overturn" && state.ruleId && state.preview && !state.preview.error));
  const submit = async (next) => {
    if (!ready || state.busy) return;
    state.busy = true;
    const body = { result: state.outcome, version: state.version, note: state.note };
    if (state.outcome === "overturn") body.rule_id = state.ruleId;
    try {
      await api.decideAppeal(c(state), body);
      say(`Appeal on ${c(state)}: ${state.outcome === "uphold" ? "decision upheld" : "decision overturned"}.`, "ok");
      state.busy = false;
      if (next) return openNext(c(state));
      await showCase(c(state), { result: { kind: "ok", text: "Saved." } });
    } catch (err) {
      state.busy = false;
      state.result = err instanceof ApiError && err.status === 409 ? { kind: "conflict", body: err.body } : { kind: "error", text: errorText(err) };
      renderCase(state);
    }
  };
  state.submit = submit;
  return section(
    "Decide the appeal",
    "actions",
    rule,
    own ? null : claimLine(state),
    results,
    state.outcome === "overturn" ? ruleSelect(state, overturnTo) : null,
    noteField(state),
    state.outcome === "overturn" ? previewBox(state, overturnTo, "Statement of reasons of the new decision") : null,
    submitButtons(state, ready, submit),
    resultBox(state),
  );
}

async function openNext(doneId) {
  const queue = list.queueScreen === "appeals" ? "appeals" : "review";
  try {
    const page = await api.queue(queue, { category: list.category });
    list.items = page.items;
    list.cursors = [null];
    list.next = page.next_cursor;
    const next = page.items.find((x) => x.case_id !== doneId && !(x.claimed_by && x.claimed_by !== auth.person().sub && new Date(x.claim_expires_at).getTime() > Date.now()));
    if (next) return go(`#/case/${encodeURIComponent(next.case_id)}`);
    say("The queue is empty.", "ok");
  } catch (err) {
    say(errorText(err), "danger");
  }
  go(`#/${list.queueScreen || "queue"}`);
}

function bindCaseKeys(state) {
  const c0 = state.view.case;
  const move = (step) => {
    const i = list.items.findIndex((x) => x.case_id === c0.case_id);
    const target = list.items[(i < 0 ? list.selected : i) + step];
    if (target) go(`#/case/${encodeURIComponent(target.case_id)}`);
  };
  const keys = { j: () => move(1), ArrowDown: () => move(1), k: () => move(-1), ArrowUp: () => move(-1) };
  if (c0.state === "in_review" && (auth.has("moderators") || auth.has("admins"))) {
    Object.assign(keys, {
      c: () => state.claim && state.claim(),
      r: () => choose(state, "remove", "remove"),
      n: () => choose(state, "no_violation", "no_violation"),
      e: () => choose(state, "escalate", "escalate"),
      s: () => state.submit && state.submit(false),
      S: () => state.submit && state.submit(true),
    });
  } else if (c0.state === "appealed" && auth.has("appeals") && state.view.decision?.decided_by !== auth.person().sub) {
    const overturnTo = state.view.decision && state.view.decision.outcome === "remove" ? "no_violation" : "remove";
    Object.assign(keys, {
      c: () => state.claim && state.claim(),
      u: () => choose(state, "uphold", null),
      o: () => choose(state, "overturn", overturnTo),
      s: () => state.submit && state.submit(false),
      S: () => state.submit && state.submit(true),
    });
  }
  screen = { keys };
}

// ------------------------------------------------------------------ inbox

async function showInbox(requested) {
  list.queueScreen = "inbox";
  const person = auth.person();
  const choices = ["moderators", "appeals", "admins"].filter((g) => person.groups.includes(g)).concat(["personal"]);
  const inbox = choices.includes(requested) ? requested : choices[0];
  const body = h("div", {}, h("p", {}, "Loading…"));
  const picker = h(
    "select",
    { id: "inbox-select", "aria-label": "Inbox", onchange: (ev) => go(`#/inbox?inbox=${ev.target.value}`) },
    choices.map((x) => h("option", { value: x, selected: x === inbox }, x === "personal" ? "Your notifications" : `Shared inbox: ${x}`)),
  );
  replace(main, section("Inbox", "inbox", h("div", { class: "toolbar" }, picker), body));
  screen = { keys: {} };
  const cursors = [null];
  const load = async () => {
    try {
      const page = await api.inbox(inbox, cursors[cursors.length - 1]);
      replace(
        body,
        page.items.length
          ? h(
              "ol",
              { class: "inbox", id: "inbox-list" },
              page.items.map((n) =>
                h(
                  "li",
                  {},
                  h("p", {}, h("strong", {}, n.subject), ` · ${label(n.kind)} · ${when(n.created_at)}`, n.case_id ? [" · ", h("a", { href: `#/case/${encodeURIComponent(n.case_id)}` }, n.case_id)] : ""),
                  h("p", { class: "notification-body" }, n.body),
                ),
              ),
            )
          : h("p", {}, "No notifications."),
        h(
          "nav",
          { class: "pager", "aria-label": "Pages" },
          h("button", { type: "button", disabled: cursors.length === 1, onclick: () => { cursors.pop(); load(); } }, "Previous page"),
          h("button", { type: "button", disabled: !page.next_cursor, onclick: () => { cursors.push(page.next_cursor); load(); } }, "Next page"),
        ),
      );
    } catch (err) {
      replace(body, h("p", { class: "note danger", role: "alert" }, errorText(err)));
    }
  };
  await load();
}

// ------------------------------------------------------------------ keyboard

function onKey(ev) {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const target = ev.target;
  const typing = target instanceof Element && target.closest("input:not([type=radio]):not([type=checkbox]), textarea, select, [contenteditable]");
  if (ev.key === "Escape") {
    if (typing) target.blur();
    return;
  }
  if (typing || help.open || !auth.signedIn()) return;
  if (ev.key === "?") {
    ev.preventDefault();
    help.showModal();
    return;
  }
  const screens = { 1: "#/queue", 2: "#/appeals", 3: "#/inbox" };
  if (screens[ev.key]) {
    ev.preventDefault();
    go(screens[ev.key]);
    return;
  }
  if (ev.key === "Enter" && target instanceof Element && target.closest("a, button, input")) return;
  const handler = screen.keys[ev.key];
  if (handler) {
    ev.preventDefault();
    handler();
  }
}

// ------------------------------------------------------------------ start

async function start() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) config = { ...config, ...(await response.json()) };
  } catch {
    // the defaults: the local stack on this origin
  }
  api = new Api(config.api || "", null);
  auth = new Auth(config, (message) => {
    if (!auth.signedIn()) return showSignIn(message);
    route();
  });
  api.auth = auth;
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", () => {
    say("");
    route();
  });
  document.getElementById("help-button").addEventListener("click", () => help.showModal());
  signOutButton.addEventListener("click", () => auth.signOut());
  if (config.auth === "cognito") {
    try {
      await auth.completeCognito();
    } catch (err) {
      return showSignIn(errorText(err));
    }
  }
  route();
}

start();
