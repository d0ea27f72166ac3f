"""The HTML report's one stylesheet, inlined: light and dark (prefers-color-scheme), narrow screens,
and print (no backgrounds, ladders kept whole on a page)."""

from __future__ import annotations

CSS = """
:root{--bg:#fff;--fg:#1b1f24;--muted:#5b636e;--line:#d0d7de;--card:#f6f8fa;
--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;
--card:#161b22;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--info:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.2rem 0;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1rem;margin:.2rem 0}h4{margin:.8rem 0 .2rem;font-size:.9rem}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.9em;overflow-wrap:anywhere}
.verdict{font-size:1.2rem;margin:.3rem 0}
.verdict span{font-weight:700;padding:.1rem .6rem;border-radius:.3rem;color:#fff}
.verdict.healthy span{background:var(--ok)}.verdict.fault span{background:var(--bad)}
.verdict.inconclusive span{background:var(--warn)}
.cause{background:var(--card);border:1px solid var(--line);border-radius:.4rem;
padding:.6rem .9rem;margin:.5rem 0}
.cause.top{border-left:.35rem solid var(--bad)}
.conf{color:var(--muted);font-weight:400}
ul{padding-left:1.3rem;margin:.2rem 0}li{margin:.15rem 0;overflow-wrap:anywhere}
.muted{color:var(--muted);font-size:.9rem}.healthy,.ok-text{color:var(--ok)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid var(--line)}
td.id code{white-space:nowrap}details>summary{cursor:pointer;margin:.6rem 0;color:var(--muted)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{font-weight:600}.status.pass{color:var(--ok)}.status.fail{color:var(--bad)}
.status.warn{color:var(--warn)}.status.skip{color:var(--muted)}.status.error{color:#a371f7}
.ladders{display:grid;grid-template-columns:repeat(auto-fill,minmax(26rem,1fr));gap:.8rem}
figure.probe{margin:0;background:var(--card);border:1px solid var(--line);border-radius:.4rem;padding:.5rem}
figure.probe.failed{border-color:var(--bad)}
figcaption{font-size:.85rem;overflow-wrap:anywhere}
svg.ladder{width:100%;height:auto;display:block;font:11px ui-monospace,"DejaVu Sans Mono",monospace}
svg .lane-name{font-weight:700;fill:var(--fg)}svg .lane-line{stroke:var(--muted);stroke-width:1}
svg .t{fill:var(--muted)}svg .x{font-size:13px}
.key{font-weight:700}.key.rst,.key.alert{color:var(--bad)}.key.fin{color:var(--warn)}
table.grid td.cell{text-align:center;min-width:4.5rem}
table.grid th.deprecated,td.cell.deprecated{color:var(--warn)}
td.cell.ok{color:var(--ok)}td.cell.weak{color:var(--warn);background:rgba(210,153,34,.15)}
td.cell.insecure{color:var(--bad);background:rgba(248,81,73,.18);font-weight:700}
.tag{font-size:.75rem;padding:0 .3rem;border-radius:.25rem;border:1px solid currentColor}
.tag.weak,.tag.deprecated{color:var(--warn)}.tag.insecure{color:var(--bad)}
.sev.critical,.sev.high{color:var(--bad);font-weight:700}.sev.medium{color:var(--warn)}
.grade{font-size:.9rem;padding:0 .4rem;border:1px solid var(--line);border-radius:.3rem}
caption{text-align:left;font-size:.85rem;color:var(--muted);padding:.2rem 0}
footer{margin:2rem 0 1rem;color:var(--muted);font-size:.8rem}
@media (max-width:40rem){main{padding:.5rem}.ladders{grid-template-columns:1fr}body{font-size:14px}
th,td{padding:.2rem .3rem}}
@media print{:root{--bg:#fff;--fg:#000;--card:#fff;--muted:#444}
body{font-size:10.5pt}main{max-width:none;padding:0}.scroll{overflow:visible}
figure.probe,.cause,tr{break-inside:avoid}
details::details-content{content-visibility:visible;display:block}details>summary{display:none}h2{break-after:avoid}
.verdict span{color:#000;border:2px solid #000;background:none!important}}
"""
