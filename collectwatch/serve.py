"""A built site folder → served on loopback for previewing (``--serve``)."""

from __future__ import annotations

import contextlib
import functools
import http.server
from pathlib import Path


def serve(folder: Path, port: int) -> None:
    """Serve ``folder`` on http://127.0.0.1:port until interrupted."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        print(f"serving {folder} on http://127.0.0.1:{port}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            httpd.serve_forever()
