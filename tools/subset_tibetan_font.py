#!/usr/bin/env python3
"""Build the Tibetan fonts the pages ship, from Debian's Noto Serif Tibetan (fonts-noto-core).

Why: phones in 甘南 often lack a Tibetan font that stacks letters correctly (old Android WebViews
show boxes), so the pages bring their own. Noto Serif Tibetan is used because Noto Sans Tibetan
had stacking bugs (notofonts/noto-fonts#637). Licence: SIL OFL 1.1 (copied beside the fonts).

- sync-server/assets/fonts/tibetan-form.woff2: the resident pages. Only the glyphs the server's
  catalogue needs, found by shaping every Tibetan string with HarfBuzz, so the form and its font
  stay within 60 KB. A manifest records the catalogue's digest; a test fails when the catalogue
  changed and this script was not run again (`make fonts`).
- ui/public/fonts/tibetan.woff2: the app. The whole Tibetan block, so any string shapes.

Usage: tools/subset_tibetan_font.py  (needs fonttools, brotli, uharfbuzz: `make fonts` makes a
venv with them, and fonts-noto-core).
"""
import hashlib
import json
import pathlib
import sys
import tomllib

import uharfbuzz as hb
from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = pathlib.Path("/usr/share/fonts/truetype/noto/NotoSerifTibetan-Regular.ttf")
FAMILY = "Yijian Tibetan"


def catalogue_strings(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [m["bo"] for m in data["message"]]


def digest(strings):
    """The digest the server's test recomputes: sha256 of the Tibetan strings, sorted, joined by \n."""
    return hashlib.sha256("\n".join(sorted(strings)).encode("utf-8")).hexdigest()


def shaped_glyphs(font_bytes, strings):
    face = hb.Face(font_bytes)
    font = hb.Font(face)
    gids = set()
    for s in strings:
        buf = hb.Buffer()
        buf.add_str(s)
        buf.guess_segment_properties()
        hb.shape(font, buf, {})
        gids.update(info.codepoint for info in buf.glyph_infos)
    return gids


def build(out, text, gids, closure):
    opts = subset.Options()
    opts.flavor = "woff2"
    opts.layout_features = ["*"]
    opts.layout_closure = closure
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    font = subset.load_font(str(SOURCE), opts)
    sub = subset.Subsetter(opts)
    sub.populate(text=text, gids=sorted(gids))
    sub.subset(font)
    # Renamed so a page can tell its own font from one installed on the machine (the browser
    # test asks Chromium which font drew the Tibetan text).
    for rec in font["name"].names:
        if rec.nameID in (1, 4, 16):
            rec.string = FAMILY
        elif rec.nameID == 6:
            rec.string = FAMILY.replace(" ", "") + "-Regular"
    out.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(out), opts)
    return out.stat().st_size


def main():
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing: apt-get install fonts-noto-core")
    font_bytes = SOURCE.read_bytes()
    server_cat = ROOT / "sync-server/i18n/resident.bo.toml"
    strings = catalogue_strings(server_cat)
    text = "".join(sorted(set("".join(strings)) - set(" ")))
    gids = shaped_glyphs(font_bytes, strings)
    form = ROOT / "sync-server/assets/fonts/tibetan-form.woff2"
    size = build(form, text, gids, closure=False)
    manifest = {
        "source": "Noto Serif Tibetan Regular, Debian fonts-noto-core, " + SOURCE.name,
        "family": FAMILY,
        "catalogue": "sync-server/i18n/resident.bo.toml",
        "catalogue_sha256": digest(strings),
        "glyphs": len(gids),
        "bytes": size,
    }
    (form.parent / "tibetan-form.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    whole = "".join(chr(c) for c in range(0x0F00, 0x1000))
    app = ROOT / "ui/public/fonts/tibetan.woff2"
    app_size = build(app, whole, set(), closure=True)
    lic = pathlib.Path("/usr/share/doc/fonts-noto-core/copyright")
    for d in (form.parent, app.parent):
        if lic.exists():
            (d / "NOTO-LICENSE.txt").write_text(lic.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"form font {size} bytes ({len(gids)} glyphs), app font {app_size} bytes")


if __name__ == "__main__":
    main()
