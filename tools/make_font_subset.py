"""Regenerate the CJK font shipped with kunsink's print maps (``kunsink/figures/fonts/``).

Static maps and charts need a font with Chinese glyphs; matplotlib's own (DejaVu Sans) has none.
kunsink looks for one on the computer first (Microsoft YaHei, PingFang, Noto Sans CJK, ...) and
falls back to the subset made here, so a figure never prints empty boxes.

The subset is cut from **WenQuanYi Micro Hei** (文泉驿微米黑, face 0 of ``wqy-microhei.ttc``;
Debian/Ubuntu package ``fonts-wqy-microhei``), licensed Apache-2.0 or GPLv3 with a font embedding
exception; kunsink redistributes it under **Apache-2.0**, which allows modified copies (a glyph
subset is one) provided the licence goes with them and the change is stated: both are in
``kunsink/figures/fonts/README.md`` and ``LICENSE-Apache-2.0.txt``, written here.

Characters kept:

- printable ASCII, Latin-1 symbols (``° ² ³ · × ± µ``), general punctuation and arrows, math signs
  used in labels (``≥ ≤ − ≈``), CJK symbols and punctuation (U+3000–303F), full-width forms;
- all of GB 2312 (rows 0xA1–0xA9 symbols, level 1 = 3,755 常用字 in rows 0xB0–0xD7, level 2 = 3,008
  in rows 0xD8–0xF7);
- every non-ASCII character in kunsink's own source, package data and bundled demo data (labels,
  class names, district and place names), so the program's own text always renders.

Usage (from the repository root)::

    .venv/bin/python tools/make_font_subset.py                 # the system font at the Debian path
    .venv/bin/python tools/make_font_subset.py --font /path/to/wqy-microhei.ttc

The output is deterministic for a given source font and repository content.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "kunsink" / "figures" / "fonts"
OUT_NAME = "KunsinkCJK-Regular.ttf"
FAMILY = "Kunsink CJK"  # not the source's name, so it is never mistaken for a full system copy
DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
APACHE_TEXT = Path("/usr/share/common-licenses/Apache-2.0")

#: Text files scanned for the characters kunsink itself prints.
SCAN = [("kunsink", ("*.py", "*.yaml", "*.yml", "*.json", "*.csv", "*.md", "*.txt")),
        ("data", ("*.csv", "*.json", "*.geojson", "*.md"))]


def gb2312_chars(rows: range) -> list[str]:
    """The characters of GB 2312 in the given rows (0xA1–0xF7), in code order."""
    out = []
    for b1 in rows:
        for b2 in range(0xA1, 0xFF):
            try:
                ch = bytes([b1, b2]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            out.append(ch)
    return out


def gb2312_level1() -> list[str]:
    """GB 2312 level 1 (一级汉字): the 3,755 common characters, rows 0xB0–0xD7."""
    return gb2312_chars(range(0xB0, 0xD8))


def repo_chars(root: Path = ROOT) -> set[str]:
    """Every non-ASCII printable character in kunsink's source, package data and bundled data."""
    found: set[str] = set()
    for sub, patterns in SCAN:
        for pattern in patterns:
            for path in sorted((root / sub).rglob(pattern)):
                if "__pycache__" in path.parts:
                    continue
                try:
                    text = path.read_text(encoding="utf-8")
                except (UnicodeDecodeError, OSError):
                    continue
                found.update(ch for ch in text if ord(ch) > 0x7E and ch.isprintable())
    found.update(demo_layer_chars(root))
    return found


def demo_layer_chars(root: Path = ROOT) -> set[str]:
    """Characters of the text fields of the bundled demo GeoPackage (place and site names)."""
    gpkg = root / "data" / "demo" / "kundulun_demo.gpkg"
    if not gpkg.exists():
        return set()
    import sqlite3

    found: set[str] = set()
    con = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")]
        for t in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")') if (r[2] or "").upper().startswith("TEXT")]
            for c in cols:
                for (v,) in con.execute(f'SELECT DISTINCT "{c}" FROM "{t}"'):
                    if isinstance(v, str):
                        found.update(ch for ch in v if ord(ch) > 0x7E and ch.isprintable())
    finally:
        con.close()
    return found


def wanted_chars(root: Path = ROOT) -> list[str]:
    """The full character list of the subset, sorted by code point."""
    chars = {chr(c) for c in range(0x20, 0x7F)}
    chars |= {chr(c) for c in range(0xA0, 0x100)}            # Latin-1: ° ² ³ · × ± µ é
    chars |= {chr(c) for c in range(0x2010, 0x2070)}         # dashes, quotes, …, ‰, ′ ″
    chars |= {chr(c) for c in range(0x2190, 0x21A0)}         # arrows
    chars |= set("−≈≤≥≠±×÷∑√∞℃№Ⅰ Ⅱ Ⅲ Ⅳ Ⅴ".replace(" ", ""))
    chars |= {chr(c) for c in range(0x3000, 0x3040)}         # CJK symbols and punctuation
    chars |= {chr(c) for c in range(0xFF01, 0xFF5F)}         # full-width forms
    chars |= set(gb2312_chars(range(0xA1, 0xAA)))            # GB 2312 symbol rows
    chars |= set(gb2312_chars(range(0xB0, 0xF8)))            # GB 2312 level 1 and 2 hanzi
    chars |= repo_chars(root)
    return sorted(chars)


def make_subset(font: Path, out: Path, chars: list[str]) -> tuple[int, int]:
    """Write the subset of ``font`` (face 0 of a collection) holding ``chars``; returns (glyphs, bytes)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = ["kern", "liga", "ccmp", "locl", "mark", "mkmk"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False          # print use: hinting only matters for tiny screen text
    options.desubroutinize = True
    tt = TTFont(font, fontNumber=0, lazy=False, recalcTimestamp=False)  # reproducible: keep the source date
    sub = subset.Subsetter(options)
    sub.populate(text="".join(chars))
    sub.subset(tt)
    _rename(tt)
    tt.flavor = None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tt.save(tmp)
    tmp.replace(out)
    return len(tt.getGlyphOrder()), out.stat().st_size


def _rename(tt: object) -> None:
    """Give the subset its own family name (IDs 1, 3, 4, 6, 16, 17) and say it is a modified copy."""
    name = tt["name"]  # type: ignore[index]
    ps = FAMILY.replace(" ", "") + "-Regular"
    for rec in list(name.names):
        if rec.nameID in (1, 16):
            rec.string = FAMILY
        elif rec.nameID in (2, 17):
            rec.string = "Regular"
        elif rec.nameID == 3:
            rec.string = f"{ps};subset of WenQuanYi Micro Hei 0.2.0-beta"
        elif rec.nameID == 4:
            rec.string = f"{FAMILY} Regular"
        elif rec.nameID == 6:
            rec.string = ps
    name.setName("Glyph subset of WenQuanYi Micro Hei made for kunsink print maps "
                 "(tools/make_font_subset.py); modified from the original.", 10, 3, 1, 0x409)


def write_docs(out_dir: Path, font: Path, n_chars: int, n_glyphs: int, size: int) -> None:
    """The licence text and a README stating the origin, the licence chosen and the change made."""
    if APACHE_TEXT.exists():
        shutil.copyfile(APACHE_TEXT, out_dir / "LICENSE-Apache-2.0.txt")
    elif not (out_dir / "LICENSE-Apache-2.0.txt").exists():
        sys.exit(f"the Apache-2.0 licence text is needed beside the font; {APACHE_TEXT} is missing")
    level1 = gb2312_level1()
    (out_dir / "README.md").write_text(f"""# {OUT_NAME}

A glyph subset of **WenQuanYi Micro Hei** (文泉驿微米黑) version 0.2.0-beta, face 0 of
`wqy-microhei.ttc`, renamed to the family "{FAMILY}". kunsink's print maps use it only when no
Chinese font is installed on the computer (see `kunsink/figures/fonts.py`).

- Original: WenQuanYi Micro Hei, http://wenq.org/ (Debian package `fonts-wqy-microhei`).
  Digitized data copyright © 2007, Google Corporation (Droid Sans Fallback).
  Copyright © 2008-2009, WenQuanYi Project Board of Trustees. Droid Sans Fallback extension
  interface copyright © 2008-2009 mozbug and Qianqian Fang.
- Licence: the original is dual-licensed Apache-2.0 or GPLv3 (with a font embedding exception);
  this copy is distributed under the **Apache License, Version 2.0** (`LICENSE-Apache-2.0.txt`),
  which permits redistributing modified versions with the licence and a notice of the change.
- Change made (modified file): glyphs reduced to {n_chars:,} characters ({n_glyphs:,} glyphs) —
  ASCII, Latin-1, punctuation, CJK symbols and full-width forms, all of GB 2312 (incl. the
  {len(level1):,} level-1 characters) and every character kunsink's own texts use; hinting removed;
  family renamed. Size {size / 1e6:.2f} MB. Regenerate with `tools/make_font_subset.py`.
- Source file used: `{font.name}`.
""", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--font PATH`` (default the Debian path), ``--out DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--font", type=Path, default=DEFAULT_FONT, help="WenQuanYi Micro Hei (.ttc or .ttf)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the subset, README and licence")
    args = parser.parse_args(argv)
    if not args.font.exists():
        sys.exit(f"{args.font}: no such font; install fonts-wqy-microhei or pass --font")
    chars = wanted_chars()
    n_glyphs, size = make_subset(args.font, args.out / OUT_NAME, chars)
    write_docs(args.out, args.font, len(chars), n_glyphs, size)
    print(f"wrote {args.out / OUT_NAME}: {len(chars):,} characters, {n_glyphs:,} glyphs, {size / 1e6:.2f} MB "
          f"({dt.date.today().isoformat()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
