"""The API's documentation pages, /docs (Swagger UI) and /redoc, served from installed assets.

FastAPI's default pages load their scripts from a CDN: blank without internet, and a third-party
script without integrity on the origin that holds the user's token. Here the scripts come from
the `fastapi-offline` package (FastAPI's "self-hosting JavaScript and CSS for docs" recipe) and
each page carries a content policy that allows its own inline start-up script by hash only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
_ASSETS = Path(fastapi_offline.__file__).parent / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# ReDoc styles its components by injecting <style> elements at run time, which a policy can only
# allow wholesale; nothing the page shows runs code, and scripts stay limited to this origin.
_DOCS_POLICY = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def install(app: FastAPI) -> None:
    """Add /docs, /redoc and their assets to `app` (built with docs_url=None, redoc_url=None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(_ASSETS)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            oauth2_redirect_url=None,
        )
        return with_policy(page)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )
        return with_policy(page)


def with_policy(page: HTMLResponse) -> HTMLResponse:
    """`page` with a Content-Security-Policy that allows its inline scripts by SHA-256 hash.

    >>> policy = with_policy(HTMLResponse("<script>start()</script>")).headers
    >>> policy["content-security-policy"].split("; ")[1]
    "script-src 'self' 'sha256-DIm7WJS6ZKDYe5qFLPy+h4JFI9Bol5QmYC57mt3Fb00='"
    """
    html = bytes(page.body).decode()
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    page.headers["content-security-policy"] = _DOCS_POLICY.format(hashes=hashes)
    return page
