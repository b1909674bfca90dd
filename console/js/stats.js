// The statistics page (GET /stats, admins): what is pending now, the period's figures, and the CSV download.
// Every figure is rendered as text (dom.js).

import { h, label, replace } from "./dom.js";

const PENDING = { in_review: "In review", awaiting_first_person: "Awaiting the person concerned", needs_context: "Waiting for context", appealed: "Appealed" };

function today() {
  return new Date().toISOString().slice(0, 10);
}

function daysBefore(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
}

function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 90) return `${Math.round(value)} s`;
  if (value < 5400) return `${Math.round(value / 60)} min`;
  if (value < 172800) return `${(value / 3600).toFixed(1)} h`;
  return `${(value / 86400).toFixed(1)} d`;
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)} %`;
}

function card(id, title, value, detail) {
  return h("div", { class: "card", id }, h("h3", {}, title), h("p", { class: "figure" }, String(value)), detail ? h("p", { class: "muted" }, detail) : "");
}

function breakdown(id, title, counts) {
  const entries = Object.entries(counts || {});
  return h(
    "div",
    { class: "card" },
    h("h3", {}, title),
    entries.length
      ? h("table", { id }, h("tbody", {}, entries.map(([k, v]) => h("tr", { dataset: { key: k } }, h("th", { scope: "row" }, label(k)), h("td", {}, String(v))))))
      : h("p", { class: "muted" }, "none"),
  );
}

function pendingCards(pending) {
  return h(
    "div",
    { class: "cards", id: "stats-pending" },
    Object.entries(PENDING).map(([state, title]) => {
      const p = pending[state] || { count: 0 };
      return card(`pending-${state}`, title, p.count, p.oldest_since ? `oldest since ${p.oldest_since} (${p.oldest_age_days} d)` : "none waiting");
    }),
  );
}

function periodView(p, bound) {
  const ttd = p.time_to_decision.all || { automated: {}, human: {} };
  const a = p.appeals;
  return h(
    "section",
    { class: "period", "aria-label": `Figures for ${p.period}`, dataset: { period: p.period } },
    h("h3", {}, p.period === "total" ? `${p.from_date} to ${p.to_date}` : p.period),
    h(
      "div",
      { class: "cards" },
      card("stat-notices", "Notices", p.notices.total, `${p.notices.manifestly_unfounded} manifestly unfounded`),
      card("stat-decisions", "Decisions", p.decisions.total, `${p.decisions.automated} automated · ${p.decisions.human} by people`),
      card("stat-ttd-automated", "Median time to decision (automated)", seconds(ttd.automated.median_seconds), `p90 ${seconds(ttd.automated.p90_seconds)} · ±${(bound * 100).toFixed(1)} %`),
      card("stat-ttd-human", "Median time to decision (people)", seconds(ttd.human.median_seconds), `p90 ${seconds(ttd.human.p90_seconds)} · ${p.sla.breached_decisions} past the deadline`),
      card("stat-appeals", "Appeals", a.filed, `${a.upheld} upheld · ${a.reversed} reversed · median ${seconds(a.decision_time.median_seconds)}`),
      card("stat-reversal", "Automated decisions reversed", percent(a.automated_reversal_rate), `${a.automated_reversed} of ${a.automated_decided} appealed · hash matches ${percent(a.hash_match_reversal_rate)}`),
      card("stat-strikes", "Strikes", p.strikes.issued, `${p.strikes.expired} expired · ${p.strikes.withdrawn} withdrawn`),
      card("stat-art23", "Reporters warned / suspended (Art. 23)", `${p.art23.warnings} / ${p.art23.suspensions}`),
    ),
    h(
      "div",
      { class: "cards" },
      breakdown("stat-by-category", "Notices by category", p.notices.by_category),
      breakdown("stat-by-source", "Notices by source", p.notices.by_source),
      breakdown("stat-by-outcome", "Decisions by outcome", p.decisions.by_outcome),
      breakdown("stat-by-measure", "Enforcement by measure", p.enforcement.by_measure),
    ),
  );
}

export async function showStats(api, main, params, errorText, go) {
  const to = params.get("to") || today();
  const from = params.get("from") || daysBefore(to, 29);
  const groupBy = params.get("group_by") || "total";
  const body = h("div", { id: "stats-body" }, h("p", {}, "Loading…"));
  const form = h(
    "form",
    {
      class: "toolbar",
      id: "stats-form",
      onsubmit: (ev) => {
        ev.preventDefault();
        const f = new FormData(ev.target);
        go(`#/stats?${new URLSearchParams({ from: f.get("from"), to: f.get("to"), group_by: f.get("group_by") })}`);
      },
    },
    h("label", {}, "From ", h("input", { type: "date", name: "from", id: "stats-from", value: from, required: true })),
    h("label", {}, "To ", h("input", { type: "date", name: "to", id: "stats-to", value: to, required: true })),
    h(
      "label",
      {},
      "Per ",
      h("select", { name: "group_by", id: "stats-group-by" }, ["total", "day", "week", "month"].map((g) => h("option", { value: g, selected: g === groupBy }, g))),
    ),
    h("button", { type: "submit", id: "stats-show" }, "Show"),
    h(
      "button",
      {
        type: "button",
        id: "stats-csv",
        onclick: async () => {
          try {
            const text = await api.statsCsv({ from, to, group_by: groupBy });
            const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
            const link = h("a", { href: url, download: `consent-guard-stats-${from}-${to}-${groupBy}.csv` });
            document.body.append(link);
            link.click();
            link.remove();
            setTimeout(() => URL.revokeObjectURL(url), 1000);
          } catch (err) {
            replace(body, h("p", { class: "note danger", role: "alert" }, errorText(err)));
          }
        },
      },
      "Download CSV",
    ),
  );
  replace(main, h("section", { "aria-labelledby": "stats-title" }, h("h2", { id: "stats-title" }, "Statistics"), form, body));
  try {
    const report = await api.stats({ from, to, group_by: groupBy });
    replace(
      body,
      h("h3", {}, "Pending now"),
      pendingCards(report.pending),
      report.periods.map((p) => periodView(p, report.histogram_relative_error)),
      h("p", { class: "muted" }, `Medians and p90 are within ${(report.histogram_relative_error * 100).toFixed(2)} % of the exact values (fixed-bucket histogram). Days are UTC.`),
    );
  } catch (err) {
    replace(body, h("p", { class: "note danger", role: "alert" }, errorText(err)));
  }
}
