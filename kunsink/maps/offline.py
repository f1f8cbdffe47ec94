"""Make a Folium map self-contained: no request may leave the page.

Folium links Leaflet, jQuery, Bootstrap, Font Awesome and awesome-markers from CDNs; on a
government intranet with no internet those links fail and the page stays blank. Here the
vendored Leaflet 1.9.3 (``kunsink/data/leaflet``) is inlined into the page, with its CSS
images as ``data:`` URIs, and every other CDN link folium adds is dropped. Nothing kunsink
draws needs jQuery or Bootstrap: popups and tooltips are bound with plain Leaflet calls and
points are circle markers (no icon fonts). Folium elements that *do* need them are refused.

Basemap tiles are the one deliberate exception: a tile layer the user asked for by name
loads ``<img>`` tiles from its server when a network is there and leaves grey squares when
it is not; the vector and raster layers still draw.
"""

from __future__ import annotations

import base64
import functools
import re
from importlib import resources
from typing import Any

from branca.element import CssLink, Element, Figure, JavascriptLink

from ..errors import KunsinkError

__all__ = ["OfflineError", "check_offline", "leaflet_assets", "make_offline", "render_html"]

#: Folium resource names replaced by the inlined, vendored Leaflet.
_INLINED = {"leaflet", "leaflet_css"}
#: Folium resource names dropped: nothing kunsink draws uses them.
_DROPPED = {
    "jquery", "bootstrap", "awesome_markers",
    "bootstrap_css", "glyphicons_css", "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css",
}

_REMOTE = r"""["']?\s*(?:https?:)?//"""
_TAGS = (
    ("script", re.compile(r"<script\b[^>]*\bsrc\s*=\s*" + _REMOTE, re.IGNORECASE)),
    ("link", re.compile(r"<link\b[^>]*\bhref\s*=\s*" + _REMOTE, re.IGNORECASE)),
)
_CSS = (
    ("@import", re.compile(r"@import\s+(?:url\(\s*)?" + _REMOTE, re.IGNORECASE)),
    ("css url()", re.compile(r"url\(\s*" + _REMOTE, re.IGNORECASE)),
)
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*("[^"]*"|'[^']*')""", re.IGNORECASE)


class OfflineError(KunsinkError):
    """A map cannot be made to work without a network."""


@functools.lru_cache(maxsize=1)
def leaflet_assets() -> dict[str, str]:
    """The vendored Leaflet as inline text: ``js``, ``css`` (images as data URIs) and ``icons`` (JS).

    Returns
    -------
    dict
        ``{"js": ..., "css": ..., "icons": ...}``; ``icons`` points ``L.Icon.Default`` at
        embedded marker images so a stray default marker still draws offline.
    """
    root = resources.files("kunsink") / "data" / "leaflet"
    js = (root / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.MULTILINE)
    css = (root / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(name: str) -> str:
        raw = (root / "images" / name).read_bytes()
        return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")

    css = re.sub(r"url\((['\"]?)images/([\w.-]+\.png)\1\)", lambda mt: f'url("{data_uri(mt.group(2))}")', css)
    icons = (
        "L.Icon.Default.imagePath = '';\n"
        "L.Icon.Default.mergeOptions({"
        f"iconUrl: '{data_uri('marker-icon.png')}', "
        f"iconRetinaUrl: '{data_uri('marker-icon-2x.png')}', "
        f"shadowUrl: '{data_uri('marker-shadow.png')}'}});"
    )
    for text in (js, css):
        if re.search(r"</(script|style)", text, re.IGNORECASE):  # pragma: no cover - vendored file changed
            raise OfflineError("vendored Leaflet contains a closing script/style tag; it cannot be inlined")
    return {"js": js, "css": css, "icons": icons}


def _walk(element: Element):
    yield element
    if isinstance(element, Figure):
        for part in (element.header, element.html, element.script):
            yield from _walk(part)
    for child in list(element._children.values()):
        yield from _walk(child)
    for attr in ("html", "script", "header"):  # folium.Popup keeps children there
        part = getattr(element, attr, None)
        if isinstance(part, Element) and part is not element and not isinstance(element, Figure):
            yield from _walk(part)


def _refuse_jquery_users(element: Element) -> None:
    import folium
    from folium.features import GeoJson

    label = type(element).__name__
    if isinstance(element, folium.Popup):
        raise OfflineError("folium.Popup needs jQuery, which offline maps do not load; pass popup_fields to "
                           "kunsink.maps.add_vector_layer instead")
    if isinstance(element, folium.Icon):
        raise OfflineError("folium.Icon needs Font Awesome and awesome-markers from a CDN; use circle markers "
                           "(add_vector_layer draws points as circle markers)")
    if isinstance(element, GeoJson) and not element.embed:
        raise OfflineError(f"{label} with embed=False loads its data over the network; embed it")
    if isinstance(element, folium.Map) and getattr(element, "objects_to_stay_in_front", None):
        raise OfflineError("Map.keep_in_front needs jQuery, which offline maps do not load")


def make_offline(m: Any) -> Any:
    """Strip CDN links from a Folium map and inline the vendored Leaflet, in place.

    Safe to call more than once; call it (or :func:`render_html`) after the last layer is
    added, since a folium element added later may bring its own CDN links.

    Parameters
    ----------
    m : folium.Map
        Any Folium map (layers in EPSG:4326, as Folium draws them).

    Returns
    -------
    folium.Map
        The same map.

    Raises
    ------
    OfflineError
        If an element needs a remote resource kunsink cannot replace (a folium plugin,
        ``folium.Icon``, ``folium.Popup``, a non-embedded GeoJSON).
    """
    import folium

    figure = m.get_root()
    if not isinstance(figure, Figure):
        raise OfflineError("the map is not inside a branca Figure; create it with folium.Map or new_map")
    for element in _walk(figure):
        _refuse_jquery_users(element)
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            for name, url in links:
                if name not in _INLINED and name not in _DROPPED:
                    raise OfflineError(
                        f"{type(element).__name__} needs {url} from the internet, which an offline map cannot load"
                    )
            setattr(element, attr, [])
    # Links left in the header by an earlier render.
    for name, child in list(figure.header._children.items()):
        if isinstance(child, (JavascriptLink, CssLink)) and (name in _INLINED or name in _DROPPED):
            del figure.header._children[name]
    assets = leaflet_assets()
    figure.header.add_child(Element(f"<style>\n{assets['css']}\n</style>"), name="kunsink_leaflet_css", index=1)
    figure.header.add_child(
        Element(f"<script>\n{assets['js']}\n{assets['icons']}\n</script>"), name="kunsink_leaflet_js", index=2
    )
    for child in list(m._children.values()):  # the layer control must come after the layers it lists
        if isinstance(child, folium.LayerControl):
            m._children.move_to_end(child.get_name())
    return m


def check_offline(html: str) -> None:
    """Raise if a page would fetch scripts or stylesheets from a network.

    Parameters
    ----------
    html : str
        A whole HTML page.

    Raises
    ------
    OfflineError
        Naming the first offending tags, if any ``<script src="http…">``,
        ``<link href="http…">``, ``@import`` or CSS ``url(http…)`` is present.
    """
    found = [f"{kind}: {html[mt.start():mt.start() + 90]!r}"
             for kind, pattern in _TAGS for mt in pattern.finditer(html)]
    css = [mt.group(1) for mt in _STYLE_BLOCK.finditer(html)] + [mt.group(1) for mt in _STYLE_ATTR.finditer(html)]
    for text in css:  # only real CSS: text from data is escaped and cannot open a style block
        found += [f"{kind}: {text[mt.start():mt.start() + 90]!r}"
                  for kind, pattern in _CSS for mt in pattern.finditer(text)]
    if found:
        more = f" (+{len(found) - 2} more)" if len(found) > 2 else ""
        raise OfflineError(f"map would load from the network: {'; '.join(found[:2])}{more}")


def render_html(m: Any) -> str:
    """The whole page of a map, made offline and checked.

    Parameters
    ----------
    m : folium.Map

    Returns
    -------
    str
        The HTML page (UTF-8 text) with Leaflet inlined.
    """
    make_offline(m)
    html = m.get_root().render()
    check_offline(html)
    return html
