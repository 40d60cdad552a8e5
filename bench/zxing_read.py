#!/usr/bin/env python3
"""Read QR codes with zxing-cpp (PyPI `zxing-cpp`), the reference decoder of `make bench-qr`.

Usage: zxing_read.py FILE...   — one JSON line per file: {"file", "text" (or null), "ms"}.
The time is zxing-cpp's read alone (the image is decoded to grey first, untimed), with the
library's defaults plus `try_harder`-equivalent settings it applies by default in 2.x.
"""
import json
import sys
import time

import numpy as np
import zxingcpp
from PIL import Image


def main() -> None:
    for path in sys.argv[1:]:
        grey = np.asarray(Image.open(path).convert("L"))
        t = time.perf_counter()
        found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)
        ms = (time.perf_counter() - t) * 1000.0
        text = found[0].text if found else None
        print(json.dumps({"file": path, "text": text, "ms": round(ms, 2)}, ensure_ascii=False))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
