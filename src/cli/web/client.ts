/**
 * The explorer's page script, shipped as text: plain JavaScript for the browser (no framework, no
 * build step), served by `mnesis serve` at /assets/explorer.js. It reads only the JSON API and
 * sets text from the database as text content, never as HTML.
 *
 * @internal
 */
export const clientScript = String
  .raw`// The explorer's page script: reads the read-only JSON API of "mnesis serve" and draws the
// session list, the context-size chart, the window composition, the summary DAG, the context
// at a turn and grep. Text from the database is only ever set as textContent, never as HTML.
"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var app = document.getElementById("app");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, String(value));
    });
  }
  function append(node, children) {
    if (children === undefined || children === null) return;
    (Array.isArray(children) ? children : [children]).forEach(function (child) {
      if (child === undefined || child === null || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
  }
  function num(n) { return Number(n).toLocaleString("en"); }
  function usd(n) { return n === 0 ? "$0" : n < 0.01 ? "$" + n.toFixed(4) : "$" + n.toFixed(2); }
  function when(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC"; }
  function getJson(url) {
    return fetch(url, { headers: { accept: "application/json" } }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body && body.error ? body.error : "HTTP " + response.status);
        return body;
      });
    });
  }
  function showError(where, error) {
    where.replaceChildren(el("p", { class: "error", text: String(error && error.message ? error.message : error) }));
  }
  function section(title, id, children) {
    return el("section", { id: id }, [el("h2", { text: title })].concat(children));
  }

  // ------------------------------------------------------------------------------------------
  // Session list
  // ------------------------------------------------------------------------------------------

  function sessionList() {
    document.title = "mnesis explorer";
    getJson("/api/sessions").then(function (data) {
      var rows = data.sessions.map(function (s) {
        return el("tr", { class: "session-row" }, [
          el("td", null, el("a", { href: "/session/" + encodeURIComponent(s.id), text: (s.parentId ? "↳ " : "") + s.id })),
          el("td", { text: s.model }),
          el("td", { text: s.agent }),
          el("td", { text: when(s.updatedAt) }),
          el("td", { class: "n", text: num(s.messages) }),
          el("td", { class: "n", text: num(s.summaries) }),
          el("td", { class: "n", text: num(s.contextTokens) }),
          el("td", { class: "n", text: usd(s.cost) })
        ]);
      });
      app.replaceChildren(section(num(data.total) + " sessions", "sessions", [
        el("table", null, [
          el("thead", null, el("tr", null, ["session", "model", "agent", "updated", "messages", "summaries", "context", "cost"].map(function (h) { return el("th", { text: h }); }))),
          el("tbody", null, rows)
        ])
      ]));
    }).catch(function (error) { showError(app, error); });
  }

  // ------------------------------------------------------------------------------------------
  // One session
  // ------------------------------------------------------------------------------------------

  var state = { id: "", overview: null, selectedTurn: 0, dag: null };

  function sessionPage(id) {
    state.id = id;
    document.title = id + " · mnesis explorer";
    app.replaceChildren(el("p", { class: "muted", text: "loading " + id + "…" }));
    Promise.all([
      getJson("/api/sessions/" + encodeURIComponent(id)),
      getJson("/api/sessions/" + encodeURIComponent(id) + "/dag")
    ]).then(function (both) {
      state.overview = both[0];
      state.dag = both[1];
      state.selectedTurn = state.overview.turns.length;
      renderSession();
    }).catch(function (error) { showError(app, error); });
  }

  function renderSession() {
    var o = state.overview;
    var s = o.session;
    var header = el("section", { id: "summary" }, [
      el("h1", { text: s.id }),
      el("p", { class: "facts" }, [
        fact("model", s.model), fact("agent", s.agent), fact("turns", num(o.turns.length)),
        fact("messages", num(s.messageCount - o.summaries.total)), fact("summaries", num(o.summaries.total)),
        fact("tokens saved", num(o.tokensSaved)), fact("usage", num(s.tokens.total) + " tokens"), fact("cost", usd(s.cost)),
        fact("context now", num(o.contextTokens) + " tokens")
      ]),
      s.parentId ? el("p", null, ["sub-session of ", el("a", { href: "/session/" + encodeURIComponent(s.parentId), text: s.parentId })]) : null,
      o.children.length ? el("p", null, ["sub-sessions: "].concat(o.children.map(function (c) { return el("a", { href: "/session/" + encodeURIComponent(c), text: c + " " }); }))) : null,
      o.thresholds ? null : el("p", { class: "muted", text: "thresholds unknown: " + (o.thresholdsProblem || "no budget") })
    ]);
    app.replaceChildren(
      header,
      section("Context size per turn", "turns", [sizeChart(o)]),
      section("Window composition", "composition", [compositionChart(o), el("div", { id: "composition-detail" })]),
      section("Summary DAG", "dag", [dagChart(state.dag), el("div", { id: "node-panel", class: "panel muted", text: "Click a summary to see its text, span and children." })]),
      section("Context at a turn", "context", [turnPicker(o), el("div", { id: "context-view" })]),
      section("Grep", "grep", [grepForm(), el("div", { id: "grep-results" })])
    );
    selectTurn(state.selectedTurn);
  }

  function fact(label, value) {
    return el("span", { class: "fact" }, [el("b", { text: label + " " }), value]);
  }

  // Geometry shared by the two per-turn charts.
  var W = 960, H = 240, PAD_L = 64, PAD_R = 16, PAD_T = 14, PAD_B = 28;
  function xOf(turn, turns) { return PAD_L + (turns <= 1 ? 0.5 : (turn - 1) / (turns - 1)) * (W - PAD_L - PAD_R); }

  function axis(chart, max, turns) {
    for (var i = 0; i <= 4; i++) {
      var v = Math.round(max * i / 4);
      var y = H - PAD_B - (H - PAD_T - PAD_B) * i / 4;
      chart.appendChild(svg("line", { x1: PAD_L, x2: W - PAD_R, y1: y, y2: y, class: "grid" }));
      chart.appendChild(svg("text", { x: PAD_L - 6, y: y + 4, class: "tick", "text-anchor": "end", text: num(v) }));
    }
    chart.appendChild(svg("text", { x: PAD_L, y: H - 8, class: "tick", text: "turn 1" }));
    chart.appendChild(svg("text", { x: W - PAD_R, y: H - 8, class: "tick", "text-anchor": "end", text: "turn " + turns }));
  }

  function sizeChart(o) {
    var turns = o.turns.length;
    var chart = svg("svg", { id: "size-chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "context size per turn" });
    if (turns === 0) return el("p", { class: "muted", text: "no completed turn yet" });
    var max = 1;
    o.turns.forEach(function (t) { max = Math.max(max, t.total); });
    if (o.thresholds) max = Math.max(max, o.thresholds.hard);
    max = Math.ceil(max * 1.05);
    function yOf(v) { return H - PAD_B - (H - PAD_T - PAD_B) * v / max; }
    axis(chart, max, turns);
    if (o.thresholds) {
      [["soft", o.thresholds.soft], ["hard", o.thresholds.hard]].forEach(function (pair) {
        var y = yOf(pair[1]);
        chart.appendChild(svg("line", { x1: PAD_L, x2: W - PAD_R, y1: y, y2: y, class: "threshold " + pair[0], "data-tokens": pair[1] }));
        chart.appendChild(svg("text", { x: PAD_L + 4, y: y - 4, class: "threshold-label " + pair[0], text: pair[0] + " threshold " + num(pair[1]) }));
      });
    }
    o.compactions.forEach(function (c) {
      var x = c.afterTurn === 0 ? PAD_L : Math.min(W - PAD_R, xOf(c.afterTurn, turns) + (turns > 1 ? (W - PAD_L - PAD_R) / (turns - 1) / 2 : 0));
      chart.appendChild(svg("line", { x1: x, x2: x, y1: PAD_T, y2: H - PAD_B, class: "compaction " + c.kind, "data-summary": c.summaryId, "data-after-turn": c.afterTurn }, svg("title", { text: c.kind + " summary " + c.summaryId + " written after turn " + c.afterTurn })));
    });
    var points = o.turns.map(function (t) { return xOf(t.turn, turns) + "," + yOf(t.total); }).join(" ");
    chart.appendChild(svg("polyline", { points: points, class: "size-line" }));
    o.turns.forEach(function (t) {
      chart.appendChild(svg("circle", {
        cx: xOf(t.turn, turns), cy: yOf(t.total), r: turns > 200 ? 1.5 : 3.5,
        class: "turn-point" + (t.compactionTriggered ? " triggered" : "") + (t.waited ? " waited" : ""),
        "data-turn": t.turn, "data-total": t.total,
        onclick: function () { selectTurn(t.turn); }
      }, svg("title", { text: "turn " + t.turn + ": " + num(t.total) + " tokens" + (t.compactionTriggered ? " (started a round)" : "") + (t.waited ? " (waited for a round)" : "") })));
    });
    return el("div", { class: "chart" }, [chart, el("p", { class: "legend" }, [
      el("span", { class: "key size", text: "context tokens" }), el("span", { class: "key soft", text: "soft threshold" }),
      el("span", { class: "key hard", text: "hard threshold" }), el("span", { class: "key compaction", text: "summary written" }),
      " · click a point to see that turn"
    ])]);
  }

  var PARTS = [["system", "system"], ["summaries", "summaries"], ["raw", "raw messages"], ["toolOutputs", "tool outputs"]];

  function compositionChart(o) {
    var turns = o.turns.length;
    if (turns === 0) return el("p", { class: "muted", text: "no completed turn yet" });
    var chart = svg("svg", { id: "composition-chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "window composition per turn" });
    var max = 1;
    o.turns.forEach(function (t) { max = Math.max(max, t.total); });
    max = Math.ceil(max * 1.05);
    axis(chart, max, turns);
    var step = (W - PAD_L - PAD_R) / Math.max(1, turns);
    o.turns.forEach(function (t, i) {
      var y = H - PAD_B;
      PARTS.forEach(function (part) {
        var h = (H - PAD_T - PAD_B) * t[part[0]] / max;
        y -= h;
        chart.appendChild(svg("rect", { x: PAD_L + i * step, y: y, width: Math.max(0.5, step - (step > 3 ? 1 : 0)), height: Math.max(0, h), class: "comp " + part[0], "data-turn": t.turn, onclick: function () { selectTurn(t.turn); } }));
      });
    });
    return el("div", { class: "chart" }, [chart, el("p", { class: "legend" }, PARTS.map(function (part) { return el("span", { class: "key " + part[0], text: part[1] }); }))]);
  }

  function compositionDetail(turn) {
    var box = document.getElementById("composition-detail");
    var t = state.overview.turns[turn - 1];
    if (!box || !t) return;
    var bar = el("div", { class: "stack" }, PARTS.map(function (part) {
      var seg = el("span", { class: "seg " + part[0], title: part[1] + " " + num(t[part[0]]) });
      // (through the CSSOM: the page's security policy forbids inline style attributes)
      seg.style.flexGrow = String(Math.max(0, t[part[0]]));
      return seg;
    }));
    box.replaceChildren(el("p", null, "turn " + turn + ": " + num(t.total) + " tokens = " + PARTS.map(function (part) { return part[1] + " " + num(t[part[0]]); }).join(" + ")), bar);
  }

  // ------------------------------------------------------------------------------------------
  // Summary DAG: one row per depth (deepest on top), each node spanning the messages it covers
  // ------------------------------------------------------------------------------------------

  function dagChart(dag) {
    if (dag.nodes.length === 0) return el("p", { class: "muted", text: "no summaries yet: this session has not been compacted" });
    var maxDepth = 0, maxSeq = Math.max(1, dag.maxSeq);
    dag.nodes.forEach(function (n) { maxDepth = Math.max(maxDepth, n.depth); });
    var rowH = 46, height = (maxDepth + 1) * rowH + 24;
    var chart = svg("svg", { id: "dag-chart", viewBox: "0 0 " + W + " " + height, role: "img", "aria-label": "summary DAG" });
    function x(seq) { return PAD_L + (W - PAD_L - PAD_R) * (seq - 1) / maxSeq; }
    function y(depth) { return (maxDepth - depth) * rowH + 8; }
    for (var d = 0; d <= maxDepth; d++) chart.appendChild(svg("text", { x: PAD_L - 6, y: y(d) + 20, class: "tick", "text-anchor": "end", text: "depth " + d }));
    var byId = {};
    dag.nodes.forEach(function (n) { byId[n.id] = n; });
    dag.nodes.forEach(function (n) {
      n.parents.forEach(function (p) {
        var child = byId[p];
        if (!child) return;
        chart.appendChild(svg("line", { class: "edge", x1: (x(n.spanStartSeq) + x(n.spanEndSeq + 1)) / 2, y1: y(n.depth) + 30, x2: (x(child.spanStartSeq) + x(child.spanEndSeq + 1)) / 2, y2: y(child.depth) }));
      });
    });
    dag.nodes.forEach(function (n) {
      var x0 = x(n.spanStartSeq), x1 = x(n.spanEndSeq + 1);
      var g = svg("g", {
        class: "dag-node " + n.kind + (n.inContext ? " in-context" : "") + (n.supersededBy ? " superseded" : ""),
        "data-id": n.id, "data-kind": n.kind, "data-depth": n.depth, tabindex: 0,
        onclick: function () { selectNode(n.id); }
      }, [
        svg("rect", { x: x0 + 1, y: y(n.depth), width: Math.max(3, x1 - x0 - 2), height: 30, rx: 3 }),
        svg("title", { text: n.id + " (" + n.kind + ", depth " + n.depth + ") #" + n.spanStartSeq + "–#" + n.spanEndSeq })
      ]);
      if (x1 - x0 > 44) g.appendChild(svg("text", { x: x0 + 5, y: y(n.depth) + 19, class: "node-label", text: "#" + n.spanStartSeq + "–" + n.spanEndSeq }));
      chart.appendChild(g);
    });
    chart.appendChild(svg("text", { x: PAD_L, y: height - 4, class: "tick", text: "message #1" }));
    chart.appendChild(svg("text", { x: W - PAD_R, y: height - 4, class: "tick", "text-anchor": "end", text: "#" + dag.maxSeq }));
    return el("div", { class: "chart" }, [chart, el("p", { class: "legend" }, [
      el("span", { class: "key leaf", text: "leaf summary" }), el("span", { class: "key condensed", text: "condensed summary" }),
      el("span", { class: "key in-context", text: "in the context now" }), " · width = the messages a summary covers"
    ])]);
  }

  function selectNode(id) {
    var panel = document.getElementById("node-panel");
    document.querySelectorAll(".dag-node.selected").forEach(function (n) { n.classList.remove("selected"); });
    var g = document.querySelector('.dag-node[data-id="' + id + '"]');
    if (g) g.classList.add("selected");
    panel.className = "panel";
    panel.replaceChildren(el("p", { class: "muted", text: "loading " + id + "…" }));
    getJson("/api/summaries/" + encodeURIComponent(id)).then(function (data) {
      var n = data.node;
      var originals = el("div", { id: "originals" });
      panel.replaceChildren(
        el("h3", { id: "node-id", text: n.id }),
        el("p", { class: "facts" }, [
          fact("kind", n.kind), fact("depth", String(n.depth)), fact("level", String(n.level)), fact("tokens", num(n.tokenCount)),
          fact("span", "#" + n.spanStartSeq + "–#" + n.spanEndSeq + " (" + num(n.messageCount) + " messages)"),
          fact("state", data.inContext ? "in the context" : n.supersededBy ? "condensed into " + n.supersededBy : "not in the context")
        ]),
        el("pre", { id: "node-text", class: "text", text: n.content }),
        el("p", null, [el("b", { text: n.kind === "leaf" ? "children (messages): " : "children (summaries): " })].concat(
          data.sources.map(function (src) {
            return src.kind === "summary"
              ? el("a", { href: "#", class: "child", "data-id": src.id, text: src.id, onclick: function (e) { e.preventDefault(); selectNode(src.id); } })
              : el("span", { class: "child", "data-id": src.id, title: src.preview || "", text: (src.role || "") + " #" + src.seq + " " });
          })
        )),
        el("button", { id: "expand-button", type: "button", text: "Expand to the originals", onclick: function () { expandInto(n.id, undefined, originals); } }),
        originals
      );
    }).catch(function (error) { showError(panel, error); });
  }

  function expandInto(id, cursor, box) {
    if (!cursor) box.replaceChildren();
    var more = box.querySelector(".more");
    if (more) more.remove();
    getJson("/api/expand/" + encodeURIComponent(id) + (cursor ? "?cursor=" + encodeURIComponent(cursor) : "")).then(function (data) {
      data.items.forEach(function (item) {
        box.appendChild(el("pre", { class: "original text", "data-id": item.id, "data-kind": item.kind, text: item.text + (item.partial ? "\n[… continues]" : "") }));
      });
      if (data.nextCursor) box.appendChild(el("button", { type: "button", class: "more", text: "More originals", onclick: function () { expandInto(id, data.nextCursor, box); } }));
    }).catch(function (error) { showError(box, error); });
  }

  // ------------------------------------------------------------------------------------------
  // Context at a turn
  // ------------------------------------------------------------------------------------------

  function turnPicker(o) {
    var input = el("input", { id: "turn-input", type: "number", min: 1, max: Math.max(1, o.turns.length), value: o.turns.length || "" });
    return el("form", { id: "turn-form", class: "inline" }, [
      el("label", null, ["turn ", input]),
      el("button", { type: "submit", text: "Show" }),
      el("button", { type: "button", id: "now-button", text: "Now", onclick: function () { loadContext(undefined); } })
    ]);
  }

  function selectTurn(turn) {
    state.selectedTurn = turn;
    document.querySelectorAll(".turn-point.selected").forEach(function (p) { p.classList.remove("selected"); });
    var point = document.querySelector('.turn-point[data-turn="' + turn + '"]');
    if (point) point.classList.add("selected");
    var input = document.getElementById("turn-input");
    if (input) input.value = turn || "";
    compositionDetail(turn);
    loadContext(turn > 0 ? turn : undefined);
  }

  function loadContext(turn) {
    var box = document.getElementById("context-view");
    if (!box) return;
    box.replaceChildren(el("p", { class: "muted", text: "loading…" }));
    getJson("/api/sessions/" + encodeURIComponent(state.id) + "/context" + (turn ? "?turn=" + turn : "")).then(function (view) {
      var c = view.composition;
      var head = [
        el("p", { id: "context-title" }, (view.turn ? "turn " + view.turn + " of " + view.turns + " (rebuilt from the history)" : "the context the next turn starts from") +
          ": " + num(c.total) + " tokens = system " + num(c.system) + " + summaries " + num(c.summaries) + " + raw " + num(c.raw) + " + tool outputs " + num(c.toolOutputs)),
        view.recorded ? el("p", { class: "muted", text: "recorded when the turn ran: " + num(view.recorded.total) + " tokens" }) : null,
        el("details", { class: "ctx-entry system" }, [el("summary", { text: "system prompt · " + num(c.system) + " tokens" }), el("pre", { class: "text", text: view.systemPrompt })])
      ];
      var entries = view.entries.map(function (entry) {
        var title = entry.summary
          ? "summary " + entry.id + " (" + entry.summary.kind + ", depth " + entry.summary.depth + ") #" + entry.summary.spanStartSeq + "–#" + entry.summary.spanEndSeq
          : entry.role + " " + entry.id + " #" + entry.seq;
        var blocks = [];
        entry.rendered.forEach(function (m) {
          m.content.forEach(function (b) {
            var text = b.type === "text" ? b.text : b.type === "reasoning" ? "(reasoning) " + b.text : b.type === "tool_use" ? "→ call " + b.name + " " + JSON.stringify(b.input) : "← result: " + b.content;
            blocks.push(el("pre", { class: "text block " + b.type, text: text }));
          });
        });
        return el("details", { class: "ctx-entry " + entry.kind, "data-id": entry.id, open: entry.kind === "summary" ? "open" : false }, [
          el("summary", { text: title + " · " + num(entry.tokenCount) + " tokens" }),
          el("div", null, blocks)
        ]);
      });
      box.replaceChildren.apply(box, head.filter(Boolean).concat(entries));
    }).catch(function (error) { showError(box, error); });
  }

  // ------------------------------------------------------------------------------------------
  // Grep
  // ------------------------------------------------------------------------------------------

  function grepForm() {
    var input = el("input", { id: "grep-input", type: "search", placeholder: "words to find in the whole history", required: "required" });
    var regex = el("input", { id: "grep-regex", type: "checkbox" });
    var form = el("form", { id: "grep-form", class: "inline" }, [input, el("label", null, [regex, " regex (RE2)"]), el("button", { type: "submit", text: "Search" })]);
    form.addEventListener("submit", function (e) { e.preventDefault(); runGrep(input.value, regex.checked, undefined); });
    return form;
  }

  function runGrep(pattern, regex, cursor) {
    var box = document.getElementById("grep-results");
    if (!cursor) box.replaceChildren(el("p", { class: "muted", text: "searching…" }));
    var url = "/api/sessions/" + encodeURIComponent(state.id) + "/grep?q=" + encodeURIComponent(pattern) + (regex ? "&mode=regex" : "") + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    getJson(url).then(function (data) {
      if (!cursor) box.replaceChildren();
      var more = box.querySelector(".more");
      if (more) more.remove();
      if (data.hits.length === 0 && !cursor) box.appendChild(el("p", { class: "muted", text: "no matches" }));
      data.hits.forEach(function (hit) {
        var where = hit.location.kind === "in_context" ? "in context" : hit.location.kind === "covered" ? "covered by " + hit.location.summaryId : hit.location.kind === "summary" ? "in summary " + hit.location.summaryId : "history only";
        var summaryId = hit.location.summaryId;
        box.appendChild(el("div", { class: "grep-hit", "data-id": hit.messageId }, [
          el("p", { class: "muted" }, [hit.role + " #" + hit.seq + " " + hit.messageId + " · " + where + " ",
            summaryId ? el("a", { href: "#dag", text: "show summary", onclick: function (e) { e.preventDefault(); selectNode(summaryId); document.getElementById("dag").scrollIntoView(); } }) : null]),
          el("p", { class: "snippet", text: hit.snippet })
        ]));
      });
      if (data.nextCursor) box.appendChild(el("button", { type: "button", class: "more", text: "More hits", onclick: function () { runGrep(pattern, regex, data.nextCursor); } }));
    }).catch(function (error) { showError(box, error); });
  }

  // ------------------------------------------------------------------------------------------

  document.addEventListener("submit", function (e) {
    if (e.target && e.target.id === "turn-form") {
      e.preventDefault();
      var turn = Number(document.getElementById("turn-input").value);
      if (turn >= 1) selectTurn(turn);
    }
  });

  var match = /^\/session\/([^/]+)$/.exec(location.pathname);
  if (match) sessionPage(decodeURIComponent(match[1]));
  else sessionList();
})();
`
