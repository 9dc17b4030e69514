/**
 * The explorer's stylesheet, served at /assets/explorer.css.
 *
 * @internal
 */
export const styleSheet = String
  .raw`:root { --fg: #1d2330; --muted: #6b7280; --line: #d9dde5; --bg: #fbfbfd; --panel: #fff;
  --system: #8b95a7; --summaries: #7c5cd6; --raw: #3b82c4; --tool: #e29a2d; --soft: #e29a2d; --hard: #d0453b; --ok: #2f9e6b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 16px; align-items: baseline; padding: 10px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
header a { color: inherit; font-weight: 600; text-decoration: none; }
header .where { color: var(--muted); font-size: 12px; }
main { max-width: 1040px; margin: 0 auto; padding: 12px 20px 40px; }
h1 { font-size: 18px; margin: 8px 0; font-family: ui-monospace, monospace; }
h2 { font-size: 15px; margin: 22px 0 8px; }
h3 { font-size: 14px; margin: 0 0 6px; font-family: ui-monospace, monospace; }
a { color: #2856b6; }
table { border-collapse: collapse; width: 100%; background: var(--panel); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 4px 0; }
.fact b { font-weight: 600; color: var(--muted); }
.muted { color: var(--muted); }
.error { color: var(--hard); font-weight: 600; }
.chart svg { width: 100%; height: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.grid { stroke: #eef0f4; }
.tick { font-size: 11px; fill: var(--muted); }
.size-line { fill: none; stroke: var(--raw); stroke-width: 2; }
.turn-point { fill: var(--raw); cursor: pointer; }
.turn-point.triggered { fill: var(--soft); }
.turn-point.waited { fill: var(--hard); }
.turn-point.selected { stroke: var(--fg); stroke-width: 2; }
.threshold { stroke-dasharray: 6 4; stroke-width: 1.5; }
.threshold.soft { stroke: var(--soft); } .threshold.hard { stroke: var(--hard); }
.threshold-label { font-size: 11px; } .threshold-label.soft { fill: var(--soft); } .threshold-label.hard { fill: var(--hard); }
.compaction { stroke: var(--summaries); stroke-width: 1; opacity: .55; }
.compaction.condensed { stroke-width: 2.5; }
.comp { cursor: pointer; }
.comp.system, .seg.system, .key.system::before { fill: var(--system); background: var(--system); }
.comp.summaries, .seg.summaries, .key.summaries::before { fill: var(--summaries); background: var(--summaries); }
.comp.raw, .seg.raw, .key.raw::before { fill: var(--raw); background: var(--raw); }
.comp.toolOutputs, .seg.toolOutputs, .key.toolOutputs::before { fill: var(--tool); background: var(--tool); }
.legend { font-size: 12px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 14px; }
.key::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 5px; border-radius: 2px; vertical-align: -1px; }
.key.size::before { background: var(--raw); } .key.soft::before { background: var(--soft); } .key.hard::before { background: var(--hard); }
.key.compaction::before { background: var(--summaries); width: 2px; }
.key.leaf::before { background: #d9cff7; border: 1px solid var(--summaries); }
.key.condensed::before { background: #b7a5ef; border: 1px solid var(--summaries); }
.key.in-context::before { background: #fff; border: 2px solid var(--ok); }
.stack { display: flex; height: 18px; border-radius: 4px; overflow: hidden; border: 1px solid var(--line); }
.dag-node { cursor: pointer; }
.dag-node rect { fill: #d9cff7; stroke: var(--summaries); }
.dag-node.condensed rect { fill: #b7a5ef; }
.dag-node.superseded rect { opacity: .55; }
.dag-node.in-context rect { stroke: var(--ok); stroke-width: 2.5; }
.dag-node.selected rect { stroke: var(--fg); stroke-width: 3; }
.node-label { font-size: 11px; fill: var(--fg); pointer-events: none; }
.edge { stroke: #a99be0; stroke-width: 1; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-top: 8px; }
pre.text { white-space: pre-wrap; word-break: break-word; background: #f5f6f9; border-radius: 4px; padding: 8px; margin: 6px 0; font: 12px/1.45 ui-monospace, monospace; max-height: 360px; overflow: auto; }
#originals { max-height: 520px; overflow: auto; }
.child { margin-right: 8px; font-family: ui-monospace, monospace; font-size: 12px; }
.ctx-entry { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; margin: 4px 0; padding: 4px 8px; }
.ctx-entry.summary { border-left: 4px solid var(--summaries); }
.ctx-entry summary { cursor: pointer; font-family: ui-monospace, monospace; font-size: 12px; }
form.inline { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
input[type=search] { flex: 1; padding: 5px 8px; }
input[type=number] { width: 90px; padding: 4px; }
button { padding: 4px 10px; cursor: pointer; }
.grep-hit { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; margin: 4px 0; padding: 4px 8px; }
.grep-hit p { margin: 2px 0; }
.snippet { font-family: ui-monospace, monospace; font-size: 12px; }
`
