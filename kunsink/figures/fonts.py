"""A Chinese font for print figures: the computer's own if it has one, else the subset kunsink ships.

matplotlib's default font (DejaVu Sans) has no Chinese glyphs, so every figure is drawn with a
font chain: a CJK font first, DejaVu Sans after it for the Latin symbols a CJK font may lack
(matplotlib ≥ 3.6 falls back glyph by glyph along the chain). The CJK font is, in order:

1. the file named by the ``KUNSINK_CJK_FONT`` environment variable (or the ``path`` argument);
2. the first installed family of :data:`PREFERRED_FAMILIES` — Microsoft YaHei, SimHei, DengXian,
   SimSun (Windows), PingFang, Heiti, Songti (macOS), Noto Sans CJK / Source Han Sans, WenQuanYi
   (Linux) — found among the fonts matplotlib knows or at the usual paths of :data:`KNOWN_PATHS`;
3. :data:`SHIPPED_FONT`, a glyph subset of WenQuanYi Micro Hei (Apache-2.0) inside the package:
   ASCII, punctuation, all of GB 2312 and every character kunsink's own labels use.

A text with a character no font of the chain has is reported once per character by a
:class:`MissingGlyphWarning` (see :func:`check_text`) instead of silently printing a box.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KNOWN_PATHS",
    "LATIN_FALLBACK",
    "PREFERRED_FAMILIES",
    "SHIPPED_FAMILY",
    "SHIPPED_FONT",
    "CJKFont",
    "MissingGlyphWarning",
    "bold_weight",
    "charmap",
    "check_text",
    "find_cjk_font",
    "font_chain",
    "font_context",
    "font_rc",
    "missing_glyphs",
]

#: Family names tried in order, as matplotlib reports them.
PREFERRED_FAMILIES: tuple[str, ...] = (
    "Microsoft YaHei", "SimHei", "DengXian", "SimSun",                       # Windows
    "PingFang SC", "Heiti SC", "Heiti TC", "STHeiti", "Songti SC", "Hiragino Sans GB",  # macOS
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",   # Linux and others
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback",
)

#: Usual file locations, checked when matplotlib's font list does not have the family.
KNOWN_PATHS: tuple[str, ...] = (
    r"C:\Windows\Fonts\msyh.ttc", r"C:\Windows\Fonts\simhei.ttf", r"C:\Windows\Fonts\Deng.ttf",
    r"C:\Windows\Fonts\simsun.ttc",
    "/System/Library/Fonts/PingFang.ttc", "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc", "/System/Library/Fonts/Supplemental/Songti.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)

#: The subset shipped with kunsink (see ``kunsink/figures/fonts/README.md`` and tools/make_font_subset.py).
SHIPPED_FONT: Path = Path(__file__).resolve().parent / "fonts" / "KunsinkCJK-Regular.ttf"
SHIPPED_FAMILY = "Kunsink CJK"
#: Latin font after the CJK one: matplotlib's own, always present.
LATIN_FALLBACK = "DejaVu Sans"

#: Characters a font must have to count as a CJK font for maps (common words of kunsink's furniture).
_PROBE = "图例比例尺坐标系国家大地制图单位日期碳储量绿地"

_warned: set[str] = set()


class MissingGlyphWarning(UserWarning):
    """A text holds characters that no font of the figure's font chain can draw."""


@dataclass(frozen=True)
class CJKFont:
    """The Chinese font a figure uses.

    Attributes
    ----------
    family : str
        The family name matplotlib knows it by (registered with its font manager).
    path : Path
        The font file (``.ttf``, ``.otf`` or ``.ttc``).
    index : int
        The face in a collection (``.ttc``); 0 otherwise.
    shipped : bool
        True for kunsink's own subset, False for a font installed on the computer.
    """

    family: str
    path: Path
    index: int = 0
    shipped: bool = False


@functools.lru_cache(maxsize=32)
def charmap(path: str | os.PathLike, index: int = 0) -> frozenset[int]:
    """The code points a font file has glyphs for (face ``index`` of a collection); empty if unreadable."""
    from fontTools.ttLib import TTFont

    try:
        kwargs: dict[str, Any] = {"lazy": True}
        if str(path).lower().endswith((".ttc", ".otc")):
            kwargs["fontNumber"] = index
        with TTFont(str(path), **kwargs) as font:
            cmap = font.getBestCmap() or {}
            return frozenset(cmap)
    except Exception:  # noqa: BLE001  (a broken or unsupported file is simply not a candidate)
        return frozenset()


def _has_cjk(path: str | os.PathLike, index: int = 0) -> bool:
    cps = charmap(path, index)
    return all(ord(ch) in cps for ch in _PROBE)


def _register(path: Path) -> list[Any]:
    """Add a font file to matplotlib's font manager; returns its entries (one per face)."""
    from matplotlib import font_manager as fm

    known = [e for e in fm.fontManager.ttflist if Path(e.fname) == path]
    if known:
        return known
    fm.fontManager.addfont(str(path))
    return [e for e in fm.fontManager.ttflist if Path(e.fname) == path]


def _from_path(path: Path, shipped: bool = False) -> CJKFont | None:
    if not path.is_file():
        return None
    entries = [e for e in _register(path) if _has_cjk(path, getattr(e, "index", 0))]
    if not entries:
        return None
    e = entries[0]
    return CJKFont(family=e.name, path=path, index=int(getattr(e, "index", 0)), shipped=shipped)


@functools.lru_cache(maxsize=8)
def _find(path: str | None, preferred: tuple[str, ...], allow_system: bool) -> CJKFont:
    from matplotlib import font_manager as fm

    if path:
        found = _from_path(Path(path))
        if found is not None:
            return found
        warnings.warn(f"{path}: not a font with Chinese glyphs; looking for an installed one", MissingGlyphWarning,
                      stacklevel=3)
    if allow_system:
        by_name: dict[str, list[Any]] = {}
        for e in fm.fontManager.ttflist:
            by_name.setdefault(e.name, []).append(e)
        for fam in preferred:
            for e in sorted(by_name.get(fam, []), key=lambda e: (e.weight != 400 and e.weight != "normal",
                                                                 e.style != "normal", e.fname)):
                if _has_cjk(e.fname, getattr(e, "index", 0)):
                    return CJKFont(family=e.name, path=Path(e.fname), index=int(getattr(e, "index", 0)))
        for p in KNOWN_PATHS:
            found = _from_path(Path(p))
            if found is not None:
                return found
    found = _from_path(SHIPPED_FONT, shipped=True)
    if found is None:
        raise FileNotFoundError(f"kunsink's own CJK font is missing or damaged: {SHIPPED_FONT}")
    return found


def find_cjk_font(path: str | os.PathLike | None = None, *, preferred: Sequence[str] = PREFERRED_FAMILIES,
                  allow_system: bool = True) -> CJKFont:
    """The CJK font figures are drawn with, registered with matplotlib.

    Parameters
    ----------
    path : path, optional
        A font file to use first (default: the ``KUNSINK_CJK_FONT`` environment variable). A file
        without Chinese glyphs is skipped with a :class:`MissingGlyphWarning`.
    preferred : sequence of str
        Installed families to look for, in order (default :data:`PREFERRED_FAMILIES`).
    allow_system : bool
        False skips installed fonts and returns the shipped subset (tests, reproducible output).

    Returns
    -------
    CJKFont
        Never fails on a normal install: the shipped subset is the last resort.
    """
    chosen = path if path is not None else os.environ.get("KUNSINK_CJK_FONT") or None
    return _find(str(chosen) if chosen else None, tuple(preferred), bool(allow_system))


def font_chain(font: CJKFont | None = None) -> list[str]:
    """Family names for ``font.family`` rc: the CJK font, the shipped subset, DejaVu Sans (glyph fallback)."""
    font = font or find_cjk_font()
    chain = [font.family]
    if not font.shipped:
        shipped = _from_path(SHIPPED_FONT, shipped=True)
        if shipped is not None and shipped.family not in chain:
            chain.append(shipped.family)
    chain.append(LATIN_FALLBACK)
    return chain


def font_rc(font: CJKFont | None = None) -> dict[str, Any]:
    """matplotlib rc settings that draw text with the CJK font chain.

    The family list is copied into every text's font properties when the text is created, so a
    figure built inside :func:`font_context` keeps its fonts when saved later outside it.
    PDF fonts are embedded as Type 3 subsets (``pdf.fonttype`` 3), which works for collections
    (``.ttc``) too.
    """
    return {
        "font.family": font_chain(font),
        "axes.unicode_minus": True,
        "pdf.fonttype": 3,
        "svg.fonttype": "path",
    }


@contextlib.contextmanager
def font_context(font: CJKFont | None = None) -> Iterator[CJKFont]:
    """Within the block, new text artists use the CJK font chain; yields the font chosen."""
    import matplotlib

    font = font or find_cjk_font()
    with matplotlib.rc_context(font_rc(font)):
        yield font


def _chain_charmaps(font: CJKFont) -> list[frozenset[int]]:
    from matplotlib import font_manager as fm

    maps = [charmap(font.path, font.index)]
    if not font.shipped and SHIPPED_FONT.is_file():
        maps.append(charmap(SHIPPED_FONT))
    latin = fm.findfont(fm.FontProperties(family=LATIN_FALLBACK), fallback_to_default=True)
    maps.append(charmap(latin))
    return maps


def bold_weight() -> str:
    """``"bold"`` if the first font of the current ``font.family`` has a bold face, else ``"normal"``.

    Many CJK fonts (WenQuanYi, the shipped subset) have no bold face; asking for one makes
    matplotlib log a warning per text and draw the regular face anyway.
    """
    import matplotlib
    from matplotlib import font_manager as fm

    families = matplotlib.rcParams["font.family"]
    first = families[0] if families else LATIN_FALLBACK
    for e in fm.fontManager.ttflist:
        if e.name == first and isinstance(e.weight, int) and e.weight >= 600:
            return "bold"
        if e.name == first and e.weight in ("bold", "heavy", "black", "demibold", "semibold"):
            return "bold"
    return "normal"


def missing_glyphs(text: str, font: CJKFont | None = None) -> str:
    """The characters of ``text`` (in order, once each) that no font of the chain can draw.

    Whitespace, control characters and mathtext dollar signs are not checked.
    """
    font = font or find_cjk_font()
    maps = _chain_charmaps(font)
    out: list[str] = []
    for ch in dict.fromkeys(str(text)):
        if ch.isspace() or not ch.isprintable():
            continue
        if not any(ord(ch) in m for m in maps):
            out.append(ch)
    return "".join(out)


def check_text(text: str, font: CJKFont | None = None) -> str:
    """Return ``text`` unchanged; warn once per character that would print as a box.

    The warning names the characters and the way out (install a font that has them, or point
    ``KUNSINK_CJK_FONT`` at one).
    """
    font = font or find_cjk_font()
    missing = [ch for ch in missing_glyphs(text, font) if ch not in _warned]
    if missing:
        _warned.update(missing)
        chars = "".join(missing)
        warnings.warn(f"no glyph for {chars!r} (U+{', U+'.join(f'{ord(c):04X}' for c in missing)}) in the fonts "
                      f"{', '.join(font_chain(font))}: they will print as boxes; install a font that has them "
                      f"or set KUNSINK_CJK_FONT to its file", MissingGlyphWarning, stacklevel=2)
    return text
