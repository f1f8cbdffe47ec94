"""The report as a Word document (``.docx``, python-docx) that opens in Word and WPS.

Same :class:`~kunsink.report.document.Document` as the HTML page: headings (Word's built-in heading
styles, so the navigation pane and a table of contents work), bilingual paragraphs, tables with a
Chinese and an English header row, figures at their printed width, and the synthetic-data notice in
red at the top. East Asian text is set in a Chinese font (Microsoft YaHei, falling back in WPS to
its own CJK font) through the ``w:eastAsia`` font attribute, which python-docx does not set itself.
"""

from __future__ import annotations

import io

from .document import DataPanel, Document, Figure, Notice, Paragraph, Section, Table, Text

__all__ = ["EAST_ASIAN_FONT", "render_docx"]

#: The font for Chinese characters in the document (present on Chinese Windows; WPS substitutes).
EAST_ASIAN_FONT = "Microsoft YaHei"
_LATIN_FONT = "Calibri"


def _set_fonts(style) -> None:
    from docx.oxml.ns import qn

    style.font.name = _LATIN_FONT
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


def _bilingual(par, text: Text | None, *, bold: bool = False, size_pt: float | None = None) -> None:
    from docx.shared import Pt, RGBColor

    if text is None:
        return
    if text.zh:
        run = par.add_run(text.zh)
        run.bold = bold or None
        if size_pt:
            run.font.size = Pt(size_pt)
    if text.en:
        run = par.add_run(("  " if text.zh else "") + text.en)
        run.italic = True
        run.font.color.rgb = RGBColor(0x5F, 0x6B, 0x7A)
        if size_pt:
            run.font.size = Pt(size_pt * 0.85)


def _shade(cell, hex_fill: str) -> None:
    from docx.oxml.ns import qn

    tcpr = cell._tc.get_or_add_tcPr()
    shd = tcpr.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto", qn("w:fill"): hex_fill})
    tcpr.append(shd)


def _grid(doc, title: Text, heads: list[Text], rows: list[list[str]], note: Text | None = None,
          red_rows: set[int] | None = None) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    cap = doc.add_paragraph(style="Caption")
    _bilingual(cap, title, bold=True)
    table = doc.add_table(rows=2 + len(rows), cols=len(heads))
    table.style = "Table Grid"
    for j, h in enumerate(heads):
        for i, text in ((0, h.zh), (1, h.en)):
            cell = table.cell(i, j)
            cell.text = text
            _shade(cell, "EEF2F5")
            for run in cell.paragraphs[0].runs:
                run.font.size = Pt(8 if i else 9)
                run.bold = i == 0
    for i, row in enumerate(rows, 2):
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.text = value
            par = cell.paragraphs[0]
            if value and value.replace(",", "").replace(".", "", 1).lstrip("-").isdigit():
                par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            for run in par.runs:
                run.font.size = Pt(9)
                if red_rows and (i - 2) in red_rows:
                    run.font.color.rgb = RGBColor(0xB4, 0x23, 0x18)
    if note is not None:
        _bilingual(doc.add_paragraph(), note, size_pt=8)


def _block(doc, b) -> None:
    from docx.shared import Mm, RGBColor

    if isinstance(b, Paragraph):
        style = "List Bullet" if b.kind == "bullet" else None
        par = doc.add_paragraph(style=style)
        _bilingual(par, b.text, size_pt=9 if b.kind == "note" else None)
    elif isinstance(b, Table):
        _grid(doc, b.title, b.headers(), b.cells(), b.note)
    elif isinstance(b, Figure):
        doc.add_picture(io.BytesIO(b.png), width=Mm(min(b.width_mm, 170.0)))
        _bilingual(doc.add_paragraph(style="Caption"), b.caption or b.title)
    elif isinstance(b, DataPanel):
        heads = [Text("图层", "Layer"), Text("文件", "File"), Text("数据性质", "Status"), Text("来源", "Source")]
        rows, red = [], set()
        for i, r in enumerate(b.rows):
            status = r.get("status", "")
            if status == "synthetic":
                red.add(i)
            label = {"synthetic": "合成数据 SYNTHETIC", "real": "真实数据 real"}.get(status, status)
            rows.append([r.get("layer", ""), r.get("file", ""), label, r.get("source", "")])
        _grid(doc, b.title, heads, rows, red_rows=red)
    elif isinstance(b, Notice):
        par = doc.add_paragraph()
        _bilingual(par, b.text, bold=b.level == "warning")
        if b.level == "warning":
            for run in par.runs:
                run.font.color.rgb = RGBColor(0xB4, 0x23, 0x18)
    else:
        raise TypeError(f"unknown report block {type(b).__name__}")


def _section(doc, s: Section, depth: int, number: str) -> None:
    head = doc.add_heading(level=min(depth, 4))
    _bilingual(head, Text(f"{number} {s.title.zh}".strip(), s.title.en))
    for b in s.blocks:
        _block(doc, b)
    for i, sub in enumerate(s.subsections, 1):
        _section(doc, sub, depth + 1, f"{number}.{i}")


def render_docx(doc_model: Document) -> bytes:
    """The report as ``.docx`` bytes (A4, 2 cm margins, Chinese fonts set on every style used)."""
    from docx import Document as _Docx
    from docx.shared import Mm, Pt, RGBColor

    doc = _Docx()
    for sec in doc.sections:
        sec.page_width, sec.page_height = Mm(210), Mm(297)
        sec.left_margin = sec.right_margin = sec.top_margin = sec.bottom_margin = Mm(20)
    for name in ("Normal", "Title", "Caption", "List Bullet", "Heading 1", "Heading 2", "Heading 3", "Heading 4"):
        _set_fonts(doc.styles[name])
    doc.styles["Normal"].font.size = Pt(10.5)
    doc.core_properties.title = doc_model.title.joined(" ")
    doc.core_properties.author = "kunsink"
    doc.core_properties.comments = "kunsink report"

    title = doc.add_paragraph(style="Title")
    _bilingual(title, doc_model.title)
    if doc_model.subtitle:
        _bilingual(doc.add_paragraph(), doc_model.subtitle)
    for k, v in doc_model.meta:
        par = doc.add_paragraph()
        _bilingual(par, k, bold=True, size_pt=9)
        run = par.add_run(f"：{v}")
        run.font.size = Pt(9)
    if doc_model.synthetic:
        par = doc.add_paragraph()
        run = par.add_run("合成数据 SYNTHETIC — 本报告使用合成（虚构）演示数据，数字不代表实际情况。"
                          "This report uses synthetic demonstration data; its figures do not describe the real "
                          "district. Only the boundary and census figures are real.")
        run.bold = True
        run.font.color.rgb = RGBColor(0xB4, 0x23, 0x18)
    for i, s in enumerate(doc_model.sections, 1):
        _section(doc, s, 1, str(i))
    if doc_model.footer:
        _bilingual(doc.add_paragraph(), doc_model.footer, size_pt=8)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
