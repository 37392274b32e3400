// Fairway's web dashboard: plain JavaScript over the controller's /v1 API.
// Every value from the API reaches the page as a text node (el/txt), never
// as HTML; charts are SVG elements built the same way.
"use strict";

(function () {
  const TOKEN_KEY = "fairway.token";
  const REFRESH_MS = 15000;
  const COLORS = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#ec4899", "#84cc16"];

  // ---- DOM helpers -------------------------------------------------------

  // el builds an element: props sets attributes ("class", "data-*", ...)
  // and event handlers (on*); children are nodes or strings (text).
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    setProps(e, props);
    append(e, children);
    return e;
  }
  const SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, props, ...children) {
    const e = document.createElementNS(SVGNS, tag);
    setProps(e, props);
    append(e, children);
    return e;
  }
  function setProps(e, props) {
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
  }
  function append(e, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  const $ = (id) => document.getElementById(id);

  // ---- formatting ----------------------------------------------------------

  function num(v, digits) {
    if (v === undefined || v === null) return "0";
    const d = digits === undefined ? (Number.isInteger(v) ? 0 : 1) : digits;
    return Number(v).toFixed(d).replace(/\.0$/, "");
  }
  function pad(n) { return String(n).padStart(2, "0"); }
  function clock(unix) {
    if (!unix) return "—";
    const d = new Date(unix * 1000);
    return pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function when(unix) {
    if (!unix) return "—";
    const d = new Date(unix * 1000);
    const today = new Date();
    const time = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    if (d.toDateString() === today.toDateString()) return time;
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + time;
  }
  function dur(secs) {
    secs = Math.max(0, Math.round(secs));
    if (secs < 60) return secs + "s";
    if (secs < 3600) return Math.floor(secs / 60) + "m " + pad(secs % 60) + "s";
    if (secs < 172800) return Math.floor(secs / 3600) + "h " + pad(Math.floor(secs / 60) % 60) + "m";
    return Math.floor(secs / 86400) + "d " + (Math.floor(secs / 3600) % 24) + "h";
  }
  function gpusOf(job) {
    if (job.alloc && job.alloc.length) return job.alloc.reduce((n, a) => n + (a.gpus ? a.gpus.length : 0), 0);
    return (job.spec.gpus || 0) * Math.max(job.spec.nodes || 1, 1);
  }
  function badge(text, cls) { return el("span", { class: "badge " + (cls || text) }, text); }
  function jobLink(id) { return el("a", { href: "#/jobs/" + id, "data-job": id }, String(id)); }
  function plural(n, word) { return num(n) + " " + word + (Number(n) === 1 ? "" : "s"); }

  // Slurm's pending reason codes in words, for jobs the explain endpoint
  // does not (yet) explain.
  const REASONS = {
    None: "Not looked at by the scheduler yet.",
    Priority: "Waiting behind jobs of higher priority in its partition.",
    Resources: "Waiting for resources: the GPUs, CPUs or memory it asks for are not free on the nodes it may use.",
    JobHeldUser: "Held by its user: it starts only after scontrol release.",
    JobHeldAdmin: "Held by an administrator.",
    PartitionDown: "Its partition is down.",
    BeginTime: "Waiting for the start time it was given (--begin).",
    Dependency: "Waiting for the jobs it depends on.",
    DependencyNeverSatisfied: "Its dependency can never be satisfied: it will not start.",
    NodeDown: "A node it needs is down.",
    PartitionTimeLimit: "Its time limit is longer than its partition allows.",
    PartitionNodeLimit: "It asks for more nodes than its partition has.",
    PartitionConfig: "None of its partitions exists any more.",
    BadConstraints: "It does not fit any node of its partitions, even an empty one.",
    AssocGrpJobsLimit: "Its account runs as many jobs as its limit allows.",
    AssocMaxJobsLimit: "Its user runs as many jobs in the account as allowed.",
    AssocGrpGRES: "Starting it would exceed its account's (or user's) GPU limit.",
    JobArrayTaskLimit: "Its job array runs as many tasks as its %N throttle allows.",
    Requeued: "Requeued: it waits to start again.",
  };
  function reasonWords(code) {
    if (!code) return "Not looked at by the scheduler yet.";
    return REASONS[code] || code;
  }

  // ---- API -----------------------------------------------------------------

  class AuthError extends Error {}

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  // api GETs a /v1 path with the token; 401 signs out with the API's
  // message; allow404 returns null for a missing endpoint or object.
  async function api(path, allow404) {
    const resp = await fetchRetrying(path);
    if (resp.status === 404 && allow404) return null;
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (resp.status === 401) throw new AuthError((body && body.error) || "not authenticated");
    if (!resp.ok) throw new Error((body && body.error) || (path + ": HTTP " + resp.status));
    return body;
  }

  // fetchRetrying GETs path with the token; a request that fails before any
  // answer (the browser's network changed, the controller restarting) is
  // tried again twice, half a second apart.
  async function fetchRetrying(path) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetch(path, { headers: { Authorization: "Bearer " + token() }, cache: "no-store" });
      } catch (e) {
        if (attempt >= 2) throw e;
        await new Promise((done) => setTimeout(done, 500));
      }
    }
  }

  // explain returns api.Explanation for a job, or null where the
  // controller has no explain endpoint or the job is gone.
  async function explain(id) {
    try { return await api("/v1/jobs/" + encodeURIComponent(id) + "/explain", true); }
    catch (e) { if (e instanceof AuthError) throw e; return null; }
  }

  // claims decodes the token's payload (for the name shown; the controller
  // verifies it).
  function claims(tok) {
    try {
      const part = tok.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
    } catch (e) { return {}; }
  }

  // ---- charts --------------------------------------------------------------

  // lineChart draws series [{name, color, points: [[t, v]], dash, area}]
  // over time, with a y axis from 0 and time labels.
  function lineChart(series, opts) {
    const W = opts.width || 640, H = opts.height || 220, L = 44, R = 12, T = 12, B = 26;
    const all = series.flatMap((s) => s.points);
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": opts.label || "chart" });
    if (all.length === 0) {
      root.appendChild(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#5f6b7a" }, "No history yet: the controller samples every " + (opts.interval || 15) + " s."));
      return root;
    }
    // The time axis covers the data (at least 5 minutes), at most the span.
    const t1 = Math.max(...all.map((p) => p[0]));
    let t0 = Math.min(...all.map((p) => p[0]));
    if (opts.span) t0 = Math.max(t0, t1 - opts.span);
    t0 = Math.min(t0, t1 - 300);
    // Counts: whole-number ticks at a 1, 2 or 5 step.
    const top0 = Math.max(1, opts.yMax || 0, ...all.map((p) => p[1]));
    const raw = top0 / 4, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = Math.max(1, [1, 2, 5, 10].map((f) => f * mag).find((v) => v >= raw));
    const yMax = Math.ceil(top0 / step) * step;
    const x = (t) => L + (t - t0) / (t1 - t0) * (W - L - R);
    const y = (v) => T + (1 - v / yMax) * (H - T - B);
    const grid = svg("g", {});
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      grid.appendChild(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e5e9ef" }));
      grid.appendChild(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5f6b7a" }, num(v, 0)));
    }
    for (let i = 0; i <= 4; i++) {
      const t = t0 + (t1 - t0) * i / 4;
      grid.appendChild(svg("text", { x: x(t), y: H - 6, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle", "font-size": 11, fill: "#5f6b7a" }, clock(Math.round(t / 60) * 60)));
    }
    root.appendChild(grid);
    for (const s of series) {
      if (!s.points.length) continue;
      const d = s.points.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1)).join(" ");
      if (s.area) {
        const first = s.points[0], last = s.points[s.points.length - 1];
        root.appendChild(svg("path", { d: d + " L" + x(last[0]).toFixed(1) + " " + y(0) + " L" + x(first[0]).toFixed(1) + " " + y(0) + " Z", fill: s.color, "fill-opacity": 0.15 }));
      }
      root.appendChild(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 2, "stroke-dasharray": s.dash ? "5 4" : null, "data-series": s.name }));
      if (s.points.length === 1) root.appendChild(svg("circle", { cx: x(s.points[0][0]), cy: y(s.points[0][1]), r: 3, fill: s.color }));
    }
    return root;
  }
  function legend(items) {
    return el("div", { class: "legend" }, items.map((i) => el("span", {},
      svg("svg", { width: 10, height: 10, viewBox: "0 0 10 10", class: "swatch" }, svg("rect", { width: 10, height: 10, rx: 2, fill: i.color, stroke: "#cbd5e1" })), i.name)));
  }

  // accountBar draws an account's GPUs against its guarantee: in use within
  // the guarantee, borrowed beyond it, the lent part of the unused
  // guarantee, and the guarantee marked with a line.
  function accountBar(a, scale) {
    const W = 560, H = 34, top = 6, h = 18;
    const x = (v) => v / scale * (W - 2);
    const within = Math.min(a.in_use, a.guarantee);
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img",
      "aria-label": a.account + ": " + num(a.in_use) + " GPUs in use, guarantee " + num(a.guarantee) });
    root.appendChild(svg("rect", { x: 0, y: top, width: W, height: h, rx: 4, fill: "#eef2f6" }));
    if (a.guarantee > 0) root.appendChild(svg("rect", { x: 0, y: top, width: x(a.guarantee), height: h, rx: 4, fill: "#e0e7ff" }));
    if (within > 0) root.appendChild(svg("rect", { x: 0, y: top, width: x(within), height: h, rx: 4, fill: "#2563eb" }));
    if (a.borrowed > 0) root.appendChild(svg("rect", { x: x(within), y: top, width: x(a.borrowed), height: h, fill: "#f59e0b" }));
    if (a.lent > 0) root.appendChild(svg("rect", { x: x(a.guarantee - a.lent), y: top, width: x(a.lent), height: h, fill: "#93c5fd" }));
    if (a.guarantee > 0) {
      const gx = Math.min(x(a.guarantee), W - 2);
      root.appendChild(svg("line", { x1: gx, x2: gx, y1: 1, y2: H - 1, stroke: "#0f172a", "stroke-width": 2 }));
    }
    return root;
  }

  // timeline draws a job's life: waiting (grey), each run (by its end
  // state), preemptions marked.
  function timeline(job, now) {
    const W = 1200, H = 64, L = 8, R = 8;
    const runs = job.runs || [];
    const end = job.end_time || now;
    const t0 = job.submit_time, t1 = Math.max(end, t0 + 1);
    const x = (t) => L + (t - t0) / (t1 - t0) * (W - L - R);
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": "timeline of job " + job.id });
    root.appendChild(svg("rect", { x: x(t0), y: 14, width: x(t1) - x(t0), height: 20, fill: "#e8edf3", rx: 3 }));
    const color = { RUNNING: "#10b981", COMPLETED: "#10b981", PREEMPTED: "#2563eb", REQUEUED: "#2563eb", FAILED: "#ef4444", NODE_FAIL: "#ef4444", TIMEOUT: "#ef4444", CANCELLED: "#94a3b8", OUT_OF_MEMORY: "#ef4444" };
    for (const r of runs) {
      const re = r.end_time || now;
      root.appendChild(svg("rect", { x: x(r.start_time), y: 14, width: Math.max(2, x(re) - x(r.start_time)), height: 20, fill: color[r.state] || "#64748b", rx: 3 },
        svg("title", {}, "run " + r.run + ": " + r.state + " " + when(r.start_time) + " – " + (r.end_time ? when(r.end_time) : "now"))));
      if (r.state === "PREEMPTED" || (r.reason || "").startsWith("Preempted")) {
        root.appendChild(svg("path", { d: "M" + x(re) + " 10 l-5 -8 h10 z", fill: "#0f172a" }));
      }
    }
    const labels = [[t0, "submitted " + clock(t0), "start"], [t1, (job.end_time ? "ended " : "now ") + clock(t1), "end"]];
    for (const [t, text, anchor] of labels) root.appendChild(svg("text", { x: x(t), y: 52, "font-size": 11, fill: "#5f6b7a", "text-anchor": anchor }, text));
    return root;
  }

  // ---- pages ---------------------------------------------------------------

  const PAGES = [["overview", "Overview"], ["accounts", "Accounts"], ["queue", "Queue"], ["nodes", "Nodes & GPUs"]];
  let info = null; // api.DashboardInfo
  let range = "fine"; // history resolution shown: fine (last hours) or coarse (2 days)

  function route() {
    const h = location.hash.replace(/^#\/?/, "");
    const [path, query] = h.split("?");
    const parts = path.split("/").filter(Boolean);
    return { page: parts[0] || "overview", arg: parts[1], params: new URLSearchParams(query || "") };
  }

  function chrome(r) {
    const nav = $("nav"), who = $("who"), links = $("links");
    nav.replaceChildren(); who.replaceChildren(); links.replaceChildren();
    if (!token() || r.page === "signin") return;
    for (const [id, name] of PAGES) nav.appendChild(el("a", { href: "#/" + id, class: r.page === id ? "active" : "" }, name));
    const c = claims(token());
    who.appendChild(el("span", { id: "signed-in-as" }, "Signed in as " + (c.sun || "?")));
    who.appendChild(el("button", { onclick: () => signOut("") }, "Sign out"));
    if (info && info.prometheus_url) links.appendChild(el("a", { href: info.prometheus_url, target: "_blank", rel: "noopener" }, "Prometheus"));
    if (info && info.grafana_url) links.appendChild(el("a", { href: info.grafana_url, target: "_blank", rel: "noopener" }, "Grafana"));
  }

  function signOut(msg) {
    sessionStorage.removeItem(TOKEN_KEY);
    info = null;
    sessionStorage.setItem("fairway.signin-error", msg || "");
    if (location.hash !== "#/signin") location.hash = "#/signin";
    else render();
  }

  function signInPage() {
    const err = sessionStorage.getItem("fairway.signin-error");
    const area = el("textarea", { id: "token", placeholder: "SLURM_JWT=eyJhbGciOi…", spellcheck: "false", autocomplete: "off" });
    const msg = el("div", { id: "signin-error" });
    if (err) msg.appendChild(el("div", { class: "error" }, err));
    const form = el("form", { id: "signin", onsubmit: async (ev) => {
      ev.preventDefault();
      let tok = area.value.trim().replace(/^export\s+/, "").replace(/^SLURM_JWT=/, "").trim();
      if (!tok) { msg.replaceChildren(el("div", { class: "error" }, "Paste a token first.")); return; }
      sessionStorage.setItem(TOKEN_KEY, tok);
      try {
        info = await api("/v1/dashboard");
        sessionStorage.removeItem("fairway.signin-error");
        location.hash = "#/overview";
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        msg.replaceChildren(el("div", { class: "error" }, "Sign-in failed: " + e.message));
      }
    } },
      el("p", {}, "Paste a token from ", el("code", {}, "scontrol token"), " (it prints SLURM_JWT=…). It is kept in this browser tab only, and you see what the cluster's rules let its user see."),
      area, msg,
      el("p", {}, el("button", { class: "primary", type: "submit", id: "signin-button" }, "Sign in")));
    return el("div", { class: "signin panel" }, el("h1", {}, "Sign in to Fairway"), form);
  }

  async function overviewPage() {
    const [hist, alerts, jobs] = await Promise.all([api("/v1/history"), api("/v1/alerts"), api("/v1/jobs")]);
    const now = hist.now;
    const firing = alerts.alerts.filter((a) => a.firing);
    const util = now.gpus_usable > 0 ? now.gpus_allocated / now.gpus_usable * 100 : 0;
    const cards = el("div", { class: "grid cards" },
      card("GPU utilization", num(util, 0) + "%", num(now.gpus_allocated) + " of " + num(now.gpus_usable) + " usable GPUs allocated", "gpu-util"),
      card("GPUs", num(now.gpus_total), num(now.gpus_total - now.gpus_usable) + " unavailable (down, drained or unhealthy)", "gpus-total"),
      card("Running jobs", num(now.running), num(now.gpus_allocated) + " GPUs", "running"),
      card("Pending jobs", num(now.pending), num(now.pending_gpus) + " GPUs asked for", "pending"),
      card("Alerts firing", String(firing.length), (alerts.alerts.length - firing.length) + " pending", "alerts", firing.length > 0));
    const series = pickSeries(hist);
    const pts = (f) => series.points.map((p) => [p.time, f(p)]);
    const gpuSeries = [
      { name: "Usable GPUs", color: "#94a3b8", points: pts((p) => p.gpus_usable), dash: true },
      { name: "Allocated GPUs", color: "#2563eb", points: pts((p) => p.gpus_allocated), area: true },
      { name: "Pending GPUs", color: "#f59e0b", points: pts((p) => p.pending_gpus) },
    ];
    const jobSeries = [
      { name: "Running jobs", color: "#10b981", points: pts((p) => p.running), area: true },
      { name: "Pending jobs", color: "#f59e0b", points: pts((p) => p.pending) },
    ];
    const partRows = (now.partitions || []).map((p) => el("tr", {},
      el("td", {}, p.partition), el("td", { class: "num" }, num(p.gpus_allocated) + " / " + num(p.gpus_usable)),
      el("td", { class: "num" }, num(p.gpus_total - p.gpus_usable)), el("td", { class: "num" }, num(p.running)),
      el("td", { class: "num" }, num(p.pending)), el("td", { class: "num" }, num(p.pending_gpus))));
    const oldest = jobs.jobs.filter((j) => j.state === "PENDING").sort((a, b) => a.submit_time - b.submit_time)[0];
    return el("div", {},
      el("h1", {}, "Cluster overview"),
      cards,
      el("div", { class: "grid two" },
        el("div", { class: "panel" }, el("div", { class: "head" }, el("h2", {}, "GPUs " + rangeName(series)), rangeTabs()),
          lineChart(gpuSeries, { label: "GPU allocation over time", span: series.span_secs, interval: info && info.history_interval_secs }), legend(gpuSeries)),
        el("div", { class: "panel" }, el("div", { class: "head" }, el("h2", {}, "Jobs " + rangeName(series))),
          lineChart(jobSeries, { label: "jobs over time", span: series.span_secs, interval: info && info.history_interval_secs }), legend(jobSeries))),
      el("div", { class: "grid two" },
        el("div", { class: "panel", id: "alerts" }, el("h2", {}, "Alerts"), alertList(alerts.alerts)),
        el("div", { class: "panel" }, el("h2", {}, "Partitions"),
          el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Partition"), el("th", { class: "num" }, "GPUs allocated / usable"), el("th", { class: "num" }, "Unavailable"),
            el("th", { class: "num" }, "Running"), el("th", { class: "num" }, "Pending"), el("th", { class: "num" }, "Pending GPUs"))), el("tbody", {}, partRows)),
          oldest ? el("p", { class: "muted small" }, "Oldest pending job: ", jobLink(oldest.id), " of " + oldest.spec.user + ", waiting " + dur(jobs.now - oldest.submit_time) + ".") : null)));
  }
  function card(label, value, sub, id, alerting) {
    return el("div", { class: "card" + (alerting ? " alerting" : ""), id: "card-" + id },
      el("div", { class: "label" }, label), el("div", { class: "value" }, value), el("div", { class: "sub" }, sub));
  }
  function pickSeries(hist) {
    const s = hist.series || [];
    return (range === "coarse" ? s[1] : s[0]) || { points: [], span_secs: 7200, step_secs: 15 };
  }
  function rangeName(series) {
    return series.span_secs >= 86400 ? "— last " + Math.round(series.span_secs / 86400) + " days" : "— last " + Math.round(series.span_secs / 3600) + " hours";
  }
  function rangeTabs() {
    const b = (id, text) => el("button", { class: range === id ? "on" : "", onclick: () => { range = id; render(); } }, text);
    return el("div", { class: "tabs" }, b("fine", "2 hours"), b("coarse", "2 days"));
  }
  function alertList(alerts) {
    if (!alerts.length) return el("p", { class: "muted" }, "No alerts: every node is up, every GPU healthy, no GPU idle while GPU jobs wait, no job waiting too long.");
    return el("div", {}, alerts.map((a) => el("div", { class: "alert", "data-alert": a.name },
      badge(a.firing ? a.severity : "pending", a.firing ? a.severity : "pending"),
      el("div", {}, el("b", {}, a.name), " ", el("span", { class: "alert-summary" }, a.summary), a.job_id ? [" — ", jobLink(a.job_id)] : null),
      el("span", { class: "since" }, "since " + when(a.since) + (a.firing ? "" : " (fires after " + dur(a.for_secs) + ")")))));
  }

  async function accountsPage() {
    const hist = await api("/v1/history");
    const rows = hist.now.accounts || [];
    const byPart = new Map();
    for (const a of rows) { if (!byPart.has(a.partition)) byPart.set(a.partition, []); byPart.get(a.partition).push(a); }
    const series = pickSeries(hist);
    const panels = [];
    for (const [part, accts] of byPart) {
      const pp = (hist.now.partitions || []).find((p) => p.partition === part) || { gpus_usable: 0 };
      const scale = Math.max(1, pp.gpus_usable, ...accts.map((a) => Math.max(a.guarantee, a.in_use)));
      const bars = accts.map((a) => el("div", { class: "accountbar", "data-account": a.account, "data-partition": part },
        el("div", {}, el("div", { class: "name" }, a.account), el("div", { class: "muted small" }, a.guarantee > 0 ? "guarantee " + num(a.guarantee) + " GPUs" : "no guarantee")),
        accountBar(a, scale),
        el("div", { class: "nums" },
          el("div", { class: "inuse" }, plural(a.in_use, "GPU") + " in use" + (a.guarantee > 0 ? " of " + num(a.guarantee) + " guaranteed" : "")),
          el("div", {}, el("span", { class: "borrowed" }, "borrowed " + num(a.borrowed)), " · ", el("span", { class: "lent" }, "lent " + num(a.lent)),
            " · ", el("span", { class: "pendingjobs" }, plural(a.pending, "pending job") + (a.pending_gpus ? " (" + plural(a.pending_gpus, "GPU") + ")" : ""))))));
      // Time chart: each account's GPUs in use; guarantees dashed.
      const names = accts.map((a) => a.account);
      const lines = [];
      names.forEach((name, i) => {
        const color = COLORS[i % COLORS.length];
        const pts = series.points.map((p) => { const r = (p.accounts || []).find((x) => x.account === name && x.partition === part); return [p.time, r ? r.in_use : 0]; });
        lines.push({ name: name + " in use", color, points: pts, area: false });
        const g = accts[i].guarantee;
        if (g > 0 && series.points.length) lines.push({ name: name + " guarantee", color, dash: true, points: series.points.map((p) => [p.time, g]) });
      });
      panels.push(el("div", { class: "panel", "data-partition-panel": part },
        el("h2", {}, "Partition " + part + " — " + num(pp.gpus_usable) + " usable GPUs"),
        bars,
        legend([{ name: "in use within guarantee", color: "#2563eb" }, { name: "borrowed (beyond guarantee)", color: "#f59e0b" },
          { name: "lent (its unused guarantee others use)", color: "#93c5fd" }, { name: "guarantee", color: "#0f172a" }]),
        el("div", { class: "head spaced" }, el("h2", {}, "GPUs in use by account " + rangeName(series)), rangeTabs()),
        lineChart(lines, { width: 1200, height: 240, label: "GPUs in use by account in " + part, span: series.span_secs, interval: info && info.history_interval_secs }),
        legend(lines.filter((l) => !l.dash).map((l) => ({ name: l.name + " (dashed: guarantee)", color: l.color })))));
    }
    if (!panels.length) panels.push(el("div", { class: "panel muted" }, "No account holds GPUs or has a guarantee."));
    return el("div", {}, el("h1", {}, "Accounts: GPUs against guarantees"),
      el("p", { class: "muted" }, "Jobs count against the nearest account, from their own up, that has a guarantee in the partition, as the scheduler counts them. Idle guaranteed GPUs are lent; a reclaim takes them back."),
      panels);
  }

  async function queuePage(r) {
    const p = r.params;
    const state = p.get("state") || "active";
    const jobs = await api("/v1/jobs" + (state === "all" ? "?all=1" : ""));
    const now = jobs.now;
    let list = jobs.jobs;
    const f = { user: p.get("user") || "", account: p.get("account") || "", partition: p.get("partition") || "" };
    if (f.user) list = list.filter((j) => j.spec.user === f.user);
    if (f.account) list = list.filter((j) => j.spec.account === f.account);
    if (f.partition) list = list.filter((j) => j.partition === f.partition);
    if (state === "pending") list = list.filter((j) => j.state === "PENDING");
    if (state === "running") list = list.filter((j) => j.state === "RUNNING");
    // Pending first, by priority; then running, newest first; then the rest.
    const rank = (j) => (j.state === "PENDING" ? 0 : j.state === "RUNNING" ? 1 : 2);
    list.sort((a, b) => rank(a) - rank(b) || (rank(a) === 0 ? (b.priority - a.priority) || (a.id - b.id) : b.id - a.id));
    const n = (info && info.explain_pending) || 20;
    const pendingShown = list.filter((j) => j.state === "PENDING").slice(0, n);
    const explained = new Map();
    await Promise.all(pendingShown.map(async (j) => explained.set(j.id, await explain(j.id))));

    const distinct = (f) => [...new Set(jobs.jobs.map(f).filter(Boolean))].sort();
    const select = (name, values, current, all) => el("label", {}, name,
      el("select", { name: name.toLowerCase(), id: "filter-" + name.toLowerCase(), onchange: applyFilters },
        el("option", { value: "" }, all), values.map((v) => el("option", { value: v, selected: v === current ? "selected" : null }, v))));
    function applyFilters() {
      const q = new URLSearchParams();
      for (const k of ["user", "account", "partition", "state"]) { const v = $("filter-" + k).value; if (v) q.set(k, v); }
      location.hash = "#/queue" + (q.toString() ? "?" + q : "");
    }
    const states = el("label", {}, "State", el("select", { id: "filter-state", onchange: applyFilters },
      [["active", "pending and running"], ["pending", "pending"], ["running", "running"], ["all", "all, finished too"]].map(([v, t]) => el("option", { value: v, selected: v === state ? "selected" : null }, t))));
    const rows = list.map((j) => {
      const ex = explained.get(j.id);
      const wait = j.state === "PENDING" ? "waiting " + dur(now - j.submit_time) : j.state === "RUNNING" ? "running " + dur(now - j.start_time) : j.end_time ? "ended " + when(j.end_time) : "";
      return el("tr", { "data-job-row": j.id, "data-state": j.state },
        el("td", {}, jobLink(j.id)), el("td", {}, j.spec.name || ""), el("td", {}, j.spec.user), el("td", {}, j.spec.account || ""),
        el("td", {}, j.partition), el("td", {}, badge(j.state)), el("td", { class: "num" }, String(gpusOf(j))), el("td", {}, wait),
        el("td", { class: "why" }, j.state === "PENDING" ? whyCell(j, ex) : (j.reason && j.state !== "RUNNING" ? j.reason : "")),
        el("td", { class: "start" }, j.state === "PENDING" ? startCell(j, ex) : j.state === "RUNNING" ? "started " + when(j.start_time) : ""));
    });
    return el("div", {}, el("h1", {}, "Queue"),
      el("div", { class: "panel" },
        el("div", { class: "filters" },
          select("User", distinct((j) => j.spec.user), f.user, "all users"),
          select("Account", distinct((j) => j.spec.account), f.account, "all accounts"),
          select("Partition", distinct((j) => j.partition), f.partition, "all partitions"),
          states,
          el("span", { class: "muted small" }, plural(list.length, "job") + "; the first " + n + " pending ones explained")),
        el("table", { id: "queue" }, el("thead", {}, el("tr", {}, ["Job", "Name", "User", "Account", "Partition", "State", "GPUs", "Time", "Why", "Expected start"].map((h) => el("th", { class: h === "GPUs" ? "num" : "" }, h)))),
          el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 10, class: "muted" }, "No jobs match."))))));
  }
  function whyCell(j, ex) {
    const words = ex && ex.summary ? ex.summary : reasonWords(j.reason);
    return el("div", {}, el("div", { class: "reason-words" }, words), el("div", { class: "muted small mono" }, j.reason || "None"));
  }
  // startRange formats an estimate as "between P50 and P90".
  function startRange(est) {
    if (!est) return null;
    if (est.p50 && est.p90) return "between " + when(est.p50) + " and " + when(est.p90);
    if (est.p50) return "from " + when(est.p50) + " (P90 beyond " + when(est.horizon) + ")";
    return "not within the next " + dur(est.horizon - est.made_at);
  }
  function startCell(j, ex) {
    const range = startRange(ex && ex.estimate);
    if (range) return el("span", { class: "range" }, range);
    const res = (ex && ex.reservation) || j.expected_start;
    if (res) return el("span", {}, "reservation at " + when(res));
    return el("span", { class: "muted" }, "no estimate yet");
  }

  async function nodesPage() {
    const [nodes, jobs] = await Promise.all([api("/v1/nodes"), api("/v1/jobs")]);
    const holder = new Map(); // "node/gpu" -> job
    for (const j of jobs.jobs) for (const a of (j.state === "RUNNING" && j.alloc) || []) for (const g of a.gpus || []) holder.set(a.node + "/" + g, j);
    const sick = [];
    const rows = nodes.nodes.map((n) => {
      const down = n.state === "DOWN" || n.state === "DRAIN";
      const gpus = (n.resources.gpus || []).map((g) => {
        const j = holder.get(n.name + "/" + g.index);
        if (!g.healthy) sick.push({ node: n.name, gpu: g });
        const cls = !g.healthy ? "gpu sick" : down ? "gpu off" : j ? "gpu busy" : "gpu";
        return el("div", { class: cls, "data-gpu": n.name + "/" + g.index, title: g.uuid },
          el("b", {}, "GPU " + g.index + " " + (g.type || "")),
          !g.healthy ? el("span", { class: "health" }, g.health_reason || "unhealthy") : j ? ["job ", jobLink(j.id), el("br"), j.spec.user] : down ? n.state.toLowerCase() : "idle");
      });
      const used = n.used || {};
      return el("tr", { "data-node": n.name },
        el("td", {}, el("b", {}, n.name), el("div", { class: "muted small" }, (n.partitions || []).join(", "))),
        el("td", {}, badge(n.state), n.reason ? el("div", { class: "small muted node-reason" }, n.reason) : null),
        el("td", { class: "num" }, (used.cpus || 0) + " / " + n.resources.cpus),
        el("td", { class: "num" }, Math.round((used.memory_mb || 0) / 1024 * 10) / 10 + " / " + Math.round(n.resources.memory_mb / 1024 * 10) / 10 + " GiB"),
        el("td", {}, gpus.length ? el("div", { class: "gpus" }, gpus) : el("span", { class: "muted" }, "no GPUs")),
        el("td", { class: "small muted" }, n.last_heartbeat ? "heartbeat " + dur(nodes.now - n.last_heartbeat) + " ago" : ""));
    });
    return el("div", {}, el("h1", {}, "Nodes and GPUs"),
      sick.length ? el("div", { class: "panel", id: "unhealthy" }, el("h2", {}, "Unhealthy GPUs (withdrawn from scheduling)"),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Node"), el("th", {}, "GPU"), el("th", {}, "UUID"), el("th", {}, "Reason"))),
          el("tbody", {}, sick.map((s) => el("tr", { "data-unhealthy": s.node + "/" + s.gpu.index }, el("td", {}, s.node), el("td", {}, String(s.gpu.index)),
            el("td", { class: "mono" }, s.gpu.uuid), el("td", { class: "health-reason" }, s.gpu.health_reason || "no reason reported")))))) : null,
      el("div", { class: "panel" },
        el("table", { id: "nodes" }, el("thead", {}, el("tr", {}, ["Node", "State", "CPUs used", "Memory used", "GPUs", ""].map((h) => el("th", {}, h)))), el("tbody", {}, rows)),
        legend([{ name: "idle", color: "#ffffff" }, { name: "allocated to a job", color: "#dbe7ff" }, { name: "unhealthy", color: "#fee2e2" }, { name: "node down or drained", color: "#e8edf3" }])));
  }

  async function jobPage(id) {
    const [job, steps, ex, jobsNow] = await Promise.all([
      api("/v1/jobs/" + encodeURIComponent(id)),
      api("/v1/jobs/" + encodeURIComponent(id) + "/steps", true).catch(() => null),
      explain(id),
      api("/v1/status"),
    ]);
    const now = jobsNow.now;
    const s = job.spec;
    const fact = (label, value) => el("div", {}, el("span", {}, label), value);
    const runs = job.runs || [];
    const preempted = runs.filter((r) => r.state === "PREEMPTED" || (r.reason || "").startsWith("Preempted"));
    let expl;
    if (job.state === "PENDING") {
      const range = startRange(ex && ex.estimate);
      expl = el("div", { class: "explain", id: "explanation" },
        el("div", { class: "reason-words" }, el("b", {}, ex && ex.summary ? ex.summary : reasonWords(job.reason))),
        el("div", { class: "muted small" }, "Reason code: " + (job.reason || "None")),
        ex && ex.facts && ex.facts.length ? el("ul", {}, ex.facts.map((f) => el("li", { "data-fact": f.kind }, f.text, (f.jobs || []).length ? [" (", f.jobs.map((x, i) => [i ? ", " : "", jobLink(x)]), ")"] : null))) : null,
        el("p", {}, "Expected start: ", range ? el("span", { class: "range" }, range) : (ex && ex.reservation) || job.expected_start ? "reservation at " + when((ex && ex.reservation) || job.expected_start) : el("span", { class: "muted" }, "no estimate yet")));
    } else if (job.state === "RUNNING") {
      expl = el("div", { class: "explain running", id: "explanation" }, el("b", {}, "Running"), " on " + (job.alloc || []).map((a) => a.node + (a.gpus && a.gpus.length ? " (GPUs " + a.gpus.join(",") + ")" : "")).join(", ") +
        " since " + when(job.start_time) + (job.time_limit_secs ? "; time limit " + dur(job.time_limit_secs) + ", ends by " + when(job.start_time + job.time_limit_secs) : "") + ".",
        job.kill ? el("div", {}, "Being stopped: " + job.kill.reason) : null);
    } else {
      expl = el("div", { class: "explain running", id: "explanation" }, el("b", {}, job.state), job.reason ? " — " + job.reason : "", job.end_time ? " at " + when(job.end_time) : "");
    }
    const runRows = runs.map((r) => el("tr", { "data-run": r.run },
      el("td", {}, String(r.run)), el("td", {}, badge(r.state)), el("td", {}, when(r.start_time)), el("td", {}, r.end_time ? when(r.end_time) : "—"),
      el("td", { class: "num" }, dur((r.end_time || now) - r.start_time)), el("td", {}, (r.nodes || []).join(",")),
      el("td", {}, r.exit_code + ":" + (r.signal || 0)), el("td", {}, r.reason || ""),
      el("td", { class: "num" }, r.lost_gpu_secs ? num(r.lost_gpu_secs / 3600, 2) + " GPU-h" : "")));
    const usageRows = runs.filter((r) => r.usage).map((r) => el("tr", {}, el("td", {}, "run " + r.run),
      el("td", { class: "num" }, dur(((r.usage.user_cpu_ms || 0) + (r.usage.sys_cpu_ms || 0)) / 1000)),
      el("td", { class: "num" }, num((r.usage.max_rss_bytes || 0) / 1048576, 0) + " MiB"), el("td", { class: "num" }, String(r.usage.gpus || 0))));
    const stepList = (steps && steps.steps) || [];
    return el("div", {},
      el("h1", {}, "Job " + job.id + (s.name ? " — " + s.name : "") + " ", badge(job.state)),
      el("div", { class: "panel" }, el("div", { class: "facts" },
        fact("User", s.user), fact("Account", s.account || "—"), fact("Partition", job.partition), fact("GPUs", String(gpusOf(job)) + (s.gpu_type ? " " + s.gpu_type : "")),
        fact("Nodes × tasks", (s.nodes || 1) + " × " + (s.ntasks || 1)), fact("Submitted", when(job.submit_time)),
        fact("Started", when(job.start_time)), fact("Time limit", job.time_limit_secs || s.time_limit_secs ? dur(job.time_limit_secs || s.time_limit_secs) : "partition default"),
        fact("Priority", String(job.priority)), fact("Restarts", String(job.restart_count)),
        fact("Last checkpoint", job.last_checkpoint ? when(job.last_checkpoint) : "never reported"))),
      el("div", { class: "panel" }, el("h2", {}, job.state === "PENDING" ? "Why it waits" : "State"), expl),
      el("div", { class: "panel" }, el("h2", {}, "Timeline"), timeline(job, now),
        legend([{ name: "waiting", color: "#e8edf3" }, { name: "running / completed", color: "#10b981" }, { name: "preempted", color: "#2563eb" }, { name: "failed", color: "#ef4444" }])),
      el("div", { class: "panel" }, el("h2", {}, "Runs"),
        runRows.length ? el("table", { id: "runs" }, el("thead", {}, el("tr", {}, ["Run", "State", "Start", "End", "Elapsed", "Nodes", "Exit", "Reason", "Work lost"].map((h) => el("th", {}, h)))), el("tbody", {}, runRows))
          : el("p", { class: "muted" }, "It has not run yet.")),
      el("div", { class: "grid two" },
        el("div", { class: "panel", id: "preemptions" }, el("h2", {}, "Preemptions"),
          preempted.length ? el("ul", {}, preempted.map((r) => el("li", {}, "Run " + r.run + " stopped " + when(r.end_time) + ": " + (r.reason || r.state) + (r.lost_gpu_secs ? "; lost " + num(r.lost_gpu_secs / 3600, 2) + " GPU-hours" : ""))))
            : el("p", { class: "muted" }, "Never preempted.")),
        el("div", { class: "panel" }, el("h2", {}, "Usage"),
          usageRows.length ? el("table", {}, el("thead", {}, el("tr", {}, ["", "CPU time", "Max RSS", "GPUs"].map((h) => el("th", { class: h ? "num" : "" }, h)))), el("tbody", {}, usageRows))
            : el("p", { class: "muted" }, job.state === "RUNNING" ? "Usage is reported when a run ends." : "No usage reported."))),
      stepList.length ? el("div", { class: "panel" }, el("h2", {}, "Steps"),
        el("table", {}, el("thead", {}, el("tr", {}, ["Step", "Name", "State", "Nodes", "Start", "End"].map((h) => el("th", {}, h)))),
          el("tbody", {}, stepList.map((st) => el("tr", {}, el("td", {}, job.id + "." + st.id), el("td", {}, st.name || ""), el("td", {}, badge(st.state)),
            el("td", {}, (st.nodes || []).join(",")), el("td", {}, when(st.start_time)), el("td", {}, st.end_time ? when(st.end_time) : "—")))))) : null,
      el("div", { class: "panel" }, el("h2", {}, "Batch script"),
        s.script ? el("pre", {}, s.script) : el("p", { class: "muted" }, "Only its owner, a coordinator of its account, an operator or an administrator sees the script.")));
  }

  // ---- render loop ---------------------------------------------------------

  let seq = 0;
  async function render() {
    const r = route();
    const my = ++seq;
    if (!token() && r.page !== "signin") { location.hash = "#/signin"; return; }
    chrome(r);
    const main = $("main");
    if (r.page === "signin") { main.replaceChildren(signInPage()); return; }
    try {
      if (!info) { info = await api("/v1/dashboard"); chrome(r); }
      let page;
      switch (r.page) {
        case "overview": page = await overviewPage(); break;
        case "accounts": page = await accountsPage(); break;
        case "queue": page = await queuePage(r); break;
        case "nodes": page = await nodesPage(); break;
        case "jobs": page = await jobPage(r.arg); break;
        default: page = el("p", {}, "No such page.");
      }
      if (my !== seq) return; // a newer render started
      page.setAttribute("data-page", r.page);
      main.replaceChildren(page);
      $("updated").textContent = "Updated " + when(Math.floor(Date.now() / 1000)) + (info ? " from controller " + info.controller : "") + "; refreshes every " + REFRESH_MS / 1000 + " s.";
    } catch (e) {
      if (e instanceof AuthError) { signOut("Your token was refused: " + e.message + ". Sign in again with a new token."); return; }
      if (my !== seq) return;
      main.replaceChildren(el("div", { class: "panel" }, el("div", { class: "error", id: "page-error" }, e.message)));
    }
  }

  window.addEventListener("hashchange", render);
  setInterval(() => {
    const r = route();
    if (!document.hidden && token() && r.page !== "signin" && !(document.activeElement && document.activeElement.tagName === "SELECT")) render();
  }, REFRESH_MS);
  render();
})();
