"""One self-contained, offline HTML page from a :class:`~kunsink.report.document.Document`.

Everything is inline: styles in one ``<style>`` block, figures as ``data:`` URIs, no script, no web
font, no link to anything outside the file, so the page opens on an intranet, prints on A4 (print
styles included) and can be mailed as one file. Chinese comes first with English beside it.
"""

from __future__ import annotations

import base64
from html import escape

from .document import DataPanel, Document, Figure, Notice, Paragraph, Section, Table, Text

__all__ = ["GENERATOR", "render_html"]

#: The generator mark of kunsink reports (the output guard recognises pages it wrote).
GENERATOR = "kunsink report"

_CSS = """
:root{--ink:#1f2933;--muted:#5f6b7a;--line:#d5dbe3;--accent:#2f6b3a;--warn:#b42318;--warnbg:#fff4f2}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);font:15px/1.6 "Microsoft YaHei","PingFang SC","Noto Sans CJK SC",
"Source Han Sans SC","WenQuanYi Micro Hei",SimHei,sans-serif;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px 32px 64px;background:#fff}
header.title h1{font-size:26px;margin:8px 0 2px}
.en{color:var(--muted);font-weight:normal}
h1 .en,h2 .en,h3 .en,h4 .en{display:block;font-size:.72em}
h2{border-bottom:2px solid var(--accent);padding-bottom:4px;margin-top:40px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;font-size:13px;color:var(--muted)}
dl.meta dt{font-weight:bold}
nav.toc{border:1px solid var(--line);padding:8px 16px;margin:16px 0;font-size:14px}
nav.toc ol{margin:4px 0;padding-left:20px}
.banner{background:var(--warnbg);border:2px solid var(--warn);color:var(--warn);padding:10px 14px;
font-weight:bold;margin:12px 0}
.notice{border-left:4px solid var(--accent);background:#f1f7f2;padding:8px 12px;margin:12px 0}
.notice.warning{border-color:var(--warn);background:var(--warnbg)}
p.note{font-size:13px;color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:8px 0 4px;font-size:13px}
caption{caption-side:top;text-align:left;font-weight:bold;padding:4px 0}
th,td{border:1px solid var(--line);padding:3px 6px;vertical-align:top}
thead th{background:#eef2f5}
thead tr.en th{font-weight:normal;color:var(--muted);font-size:12px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.synthetic td.status{color:var(--warn);font-weight:bold}
figure{margin:16px 0;text-align:center}
figure img{max-width:100%;height:auto;border:1px solid var(--line)}
figcaption{font-size:13px;color:var(--muted)}
footer{margin-top:48px;font-size:12px;color:var(--muted);border-top:1px solid var(--line);padding-top:8px}
@media (max-width:700px){main{padding:12px}table{display:block;overflow-x:auto}}
@page{size:A4;margin:16mm 14mm}
@media print{body{background:#fff}main{max-width:none;padding:0}nav.toc{page-break-after:always}
h2{page-break-before:always}h2.first{page-break-before:avoid}figure,table{page-break-inside:avoid}}
"""


def _t(text: Text | None, tag: str = "span") -> str:
    if text is None:
        return ""
    zh, en = escape(text.zh), escape(text.en)
    if zh and en:
        return f'{zh} <{tag} class="en" lang="en">{en}</{tag}>'
    return zh or f'<{tag} class="en" lang="en">{en}</{tag}>'


def _is_num(s: str) -> bool:
    return bool(s) and s.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def _table(t: Table) -> str:
    heads = t.headers()
    zh = "".join(f"<th>{escape(h.zh)}</th>" for h in heads)
    en = "".join(f'<th lang="en">{escape(h.en)}</th>' for h in heads)
    body = []
    for row in t.cells():
        tds = "".join(f'<td class="num">{escape(c)}</td>' if _is_num(c) else f"<td>{escape(c)}</td>" for c in row)
        body.append(f"<tr>{tds}</tr>")
    note = f'<p class="note">{_t(t.note)}</p>' if t.note else ""
    return (f"<table><caption>{_t(t.title)}</caption><thead><tr>{zh}</tr><tr class=\"en\">{en}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{note}")


def _figure(f: Figure) -> str:
    data = base64.b64encode(f.png).decode("ascii")
    cap = _t(f.caption) if f.caption else _t(f.title)
    alt = escape(f.title.joined())
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{alt}" style="width:{f.width_mm:.0f}mm">'
            f"<figcaption>{cap}</figcaption></figure>")


def _panel(p: DataPanel) -> str:
    heads = [Text("图层", "Layer"), Text("文件", "File"), Text("数据性质", "Status"), Text("来源", "Source")]
    rows = []
    for r in p.rows:
        status = r.get("status", "")
        label = {"synthetic": "合成数据 SYNTHETIC", "real": "真实数据 real"}.get(status, status)
        cls = ' class="synthetic"' if status == "synthetic" else ""
        rows.append(f"<tr{cls}><td>{escape(r.get('layer', ''))}</td><td>{escape(r.get('file', ''))}</td>"
                    f"<td class=\"status\">{escape(label)}</td><td>{escape(r.get('source', ''))}</td></tr>")
    zh = "".join(f"<th>{escape(h.zh)}</th>" for h in heads)
    en = "".join(f'<th lang="en">{escape(h.en)}</th>' for h in heads)
    return (f'<table class="data-panel" id="data-panel"><caption>{_t(p.title)}</caption><thead><tr>{zh}</tr>'
            f"<tr class=\"en\">{en}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _block(b) -> str:
    if isinstance(b, Paragraph):
        if b.kind == "bullet":
            return f"<ul><li>{_t(b.text)}</li></ul>"
        cls = ' class="note"' if b.kind == "note" else ""
        return f"<p{cls}>{_t(b.text)}</p>"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Figure):
        return _figure(b)
    if isinstance(b, DataPanel):
        return _panel(b)
    if isinstance(b, Notice):
        return f'<div class="notice {escape(b.level)}">{_t(b.text)}</div>'
    raise TypeError(f"unknown report block {type(b).__name__}")


def _section(s: Section, depth: int, number: str, first: bool) -> str:
    tag = f"h{min(depth + 1, 6)}"
    cls = ' class="first"' if first else ""
    parts = [f'<section id="{escape(s.key)}"><{tag}{cls}>{escape(number)} {_t(s.title)}</{tag}>']
    parts += [_block(b) for b in s.blocks]
    parts += [_section(sub, depth + 1, f"{number}.{i}", False) for i, sub in enumerate(s.subsections, 1)]
    parts.append("</section>")
    return "".join(parts)


def render_html(doc: Document) -> str:
    """The report as one self-contained HTML page (UTF-8 text).

    >>> from kunsink.report.document import Document, Section, Paragraph, Text
    >>> d = Document(Text("报告", "Report"), sections=[Section("a", Text("甲", "A"), [Paragraph(Text("你好", "hi"))])])
    >>> page = render_html(d)
    >>> "http" in page.replace("http-equiv", ""), '<section id="a">' in page
    (False, True)
    """
    toc = "".join(f'<li><a href="#{escape(s.key)}">{_t(s.title)}</a></li>' for s in doc.sections)
    meta = "".join(f"<dt>{_t(k)}</dt><dd>{escape(v)}</dd>" for k, v in doc.meta)
    banner = ""
    if doc.synthetic:
        banner = ('<div class="banner" id="synthetic-banner">合成数据 SYNTHETIC — 本报告使用合成（虚构）演示数据，'
                  "数字不代表昆都仑区实际情况。This report uses synthetic demonstration data; its figures do not "
                  "describe the real district. 仅行政区界与人口普查数为真实数据 Only the boundary and census "
                  "figures are real.</div>")
    body = "".join(_section(s, 1, f"{i}", i == 1) for i, s in enumerate(doc.sections, 1))
    footer = f"<footer>{_t(doc.footer)}</footer>" if doc.footer else ""
    sub = f"<p>{_t(doc.subtitle)}</p>" if doc.subtitle else ""
    title = escape(doc.title.joined(" · "))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{GENERATOR}">'
        f"<title>{title}</title><style>{_CSS}</style></head><body><main>"
        f'<header class="title"><h1>{_t(doc.title)}</h1>{sub}<dl class="meta">{meta}</dl></header>'
        f"{banner}"
        f'<nav class="toc"><strong>目录 <span class="en">Contents</span></strong><ol>{toc}</ol></nav>'
        f"{body}{footer}</main></body></html>\n"
    )
