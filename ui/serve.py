"""The served dashboard: app.py inside Streamlit's ASGI app, with the routes a deployment needs.

`streamlit run ui/serve.py` (what `make run` and the container do). Two
things plain `streamlit run app.py` cannot do:

- Own every URL from the first request. A `pages/` folder beside app.py
  makes Streamlit start each server in its old multipage mode (a menu of
  raw file names, pages run without app.py's login) until some session
  runs st.navigation; the start-up hook turns that mode off before any
  session exists, so a deep link on a cold server goes through app.py.
- Set and clear the session cookie (access/web_sessions.py): /auth/session
  trades a one-minute handoff token for an HttpOnly cookie and sends the
  browser on to the page it came for; /auth/end clears it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
# the server imports this file by its folder (ui/), not as part of the repo's packages
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from access import web_sessions  # noqa: E402


def _https(request: Request) -> bool:
    """Behind a reverse proxy that ends TLS, the proxy says so in X-Forwarded-Proto."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


def session_cookie(request: Request) -> RedirectResponse:
    response = RedirectResponse(web_sessions.safe_next(request.query_params.get("next")), status_code=303)
    value = web_sessions.redeem_handoff(request.query_params.get("t", ""))
    if value is not None:
        response.set_cookie(
            web_sessions.COOKIE_NAME,
            value,
            max_age=int(web_sessions.SessionSettings().absolute_hours * 3600),
            path="/",
            httponly=True,
            secure=_https(request),
            samesite="strict",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def end_cookie(request: Request) -> RedirectResponse:
    response = RedirectResponse(web_sessions.safe_next(request.query_params.get("next")), status_code=303)
    response.delete_cookie(web_sessions.COOKIE_NAME, path="/", httponly=True, samesite="strict")
    response.headers["Cache-Control"] = "no-store"
    return response


@asynccontextmanager
async def _lifespan(_app: st.App) -> AsyncIterator[None]:
    # before the first session: never the legacy pages/-folder mode, st.navigation in app.py routes every URL
    PagesManager.uses_pages_directory = False
    yield None


app = st.App(
    APP,
    lifespan=_lifespan,
    routes=[
        Route(web_sessions.SESSION_ROUTE, session_cookie, methods=["GET"]),
        Route(web_sessions.END_ROUTE, end_cookie, methods=["GET"]),
    ],
)

if __name__ == "__main__":
    app.run()
