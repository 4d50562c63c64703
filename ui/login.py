"""Who is looking: the demo role switcher, local-account login, or single sign-on.

The synthetic demo may run without login, with a role switcher for showing
what each role sees. A warehouse of real data never does: it needs a local
account (access/accounts.py) or, when .streamlit/secrets.toml has an [auth]
section, an OIDC login through st.login, with roles mapped from the email in
the secrets' [roles] table ("person@district.org" = "coordinator:S01,S02").
"""

from __future__ import annotations

import datetime as dt
from typing import NoReturn
from urllib.parse import urlencode, urlparse

import streamlit as st

from access import accounts, audit_log, web_sessions
from access.filters import FilterOptions
from access.roles import ADMIN, BOARD, COORDINATOR, DISTRICT, ROLES, Viewer, viewer

ROLE_LABELS = {
    ADMIN: "Administrator",
    DISTRICT: "District leader",
    COORDINATOR: "BTAM coordinator of a school",
    BOARD: "School board (public summary)",
}
_USER, _VIEWER, _SEEN, _METHOD, _SID = "auth_user", "auth_viewer", "auth_last_seen", "auth_method", "auth_sid"


def oidc_configured() -> bool:
    """True when .streamlit/secrets.toml has an [auth] section (no secrets file at all raises)."""
    try:
        return "auth" in st.secrets
    except Exception:  # StreamlitSecretNotFoundError and parse errors: no single sign-on
        return False


def demo_viewer(options: FilterOptions) -> Viewer:
    """The sidebar role switcher of the synthetic demo."""
    with st.sidebar:
        st.subheader("Demo: view as")
        role = st.selectbox(
            "Role",
            ROLES,
            key="demo_role",
            format_func=lambda r: ROLE_LABELS[r],
            help="The demo runs without login so the views of each role can be shown. "
            "A warehouse of real data always asks for a login.",
        )
        if role != COORDINATOR:
            return viewer(role)
        names = {s.school_id: s.name for s in options.schools}
        if not names:
            st.caption("No school is loaded, so there is no coordinator view.")
            return viewer(DISTRICT)
        school = st.selectbox("Coordinator of", list(names), key="demo_school", format_func=lambda s: names[s])
        return viewer(COORDINATOR, [school])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# a single sign-on identity newer than this is a login that just happened; an older one (a reload of a
# tab whose identity cookie is still there) may resume only through a live session record
FRESH_OIDC_SECONDS = 300


def _redirect(url: str) -> None:
    """Send the browser to a URL of this server (the frontend does what st.login does with its redirect).

    The run that sends it must end without st.rerun(): a rerun's start clears the messages not yet sent to
    the browser, and this one is among them (measured: 5 of 10 redirects lost when followed by a rerun).
    Callers end the run with `_leave` instead."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return
    msg = ForwardMsg()
    msg.auth_redirect.url = url
    ctx.enqueue(msg)


def _here() -> str:
    """The page and query string the browser shows now (where a login should land)."""
    path = urlparse(st.context.url or "").path or "/"
    query = {k: v for k, v in st.query_params.to_dict().items()}
    return path + (f"?{urlencode(query)}" if query else "")


def _sign_in(user: str, who: Viewer, method: str, session: web_sessions.WebSession | None = None) -> None:
    """Sign this Streamlit session in; a new login (no session yet) also gets a session record and cookie."""
    fresh = session is None
    if session is None:
        session = web_sessions.start(user, method)
    st.session_state[_USER], st.session_state[_VIEWER] = user, who
    st.session_state[_SEEN], st.session_state[_METHOD] = _now(), method
    st.session_state[_SID] = session.id
    if fresh:
        _redirect(web_sessions.session_url(web_sessions.handoff_token(session), _here()))


def _leave(message: str) -> NoReturn:
    """End this run once a redirect is on its way: the browser goes to the next page itself."""
    st.info(message, icon=":material/progress_activity:")
    st.stop()


def _sign_out(reason: str | None = None) -> None:
    user, who = st.session_state.get(_USER), st.session_state.get(_VIEWER)
    if user and who:
        audit_log.append("logout", user=user, role=who.role, scope=who.cache_key(), detail={"reason": reason or "user"})
    if st.session_state.get(_SID):
        web_sessions.end(st.session_state[_SID], reason or "user")
    for key in (_USER, _VIEWER, _SEEN, _METHOD, _SID):
        st.session_state.pop(key, None)


def _oidc_viewer(email: str) -> Viewer | None:
    """The role the secrets' [roles] table gives this identity, or None."""
    try:
        table = {str(k).lower(): str(v) for k, v in st.secrets.get("roles", {}).items()}
    except Exception:
        return None
    entry = table.get(email.lower())
    if not entry:
        return None
    role, _, schools = entry.partition(":")
    ids = [s.strip() for s in schools.split(",") if s.strip()]
    try:
        return viewer(role.strip(), ids or None)
    except ValueError:
        return None


def _cookie_session(user: str | None = None) -> web_sessions.WebSession | None:
    """The live session the browser's cookie names (of this user, when given), or None."""
    try:
        cookie = st.context.cookies.get(web_sessions.COOKIE_NAME)
    except Exception:  # no browser context (AppTest without cookies)
        return None
    session, _ = web_sessions.resume(cookie if isinstance(cookie, str) else None)
    if session is None or (user is not None and session.user != user):
        return None
    return session


def _resume_local() -> None:
    """A refresh or a new tab of a local-account login: sign in again from the cookie's session."""
    session = _cookie_session()
    if session is None or session.method != "local":
        return
    account = accounts.get_user(session.user)
    if account is None or account.disabled:
        web_sessions.end(session.id, "account disabled or removed")
        return
    _sign_in(account.name, account.viewer(), "local", session)  # the role as the account has it now


def _oidc_login() -> bool:
    """Sign in a single sign-on identity; False when it has no role or its session has expired."""
    email = str(st.user.get("email") or "")
    if st.session_state.get(_USER) == email:
        return True
    who = _oidc_viewer(email)
    if who is None:
        audit_log.append("login_failed", user=email, role="", scope="", detail={"reason": "no_role"})
        st.error(
            f"{email or 'This identity'} has no role in this dashboard. Ask an administrator "
            "to add it to the [roles] table of .streamlit/secrets.toml."
        )
        st.button("Log out", on_click=st.logout)
        return False
    session = _cookie_session(email)
    if session is not None:
        _sign_in(email, who, "oidc", session)
        return True
    issued = st.user.get("iat")
    fresh = isinstance(issued, (int, float)) and _now().timestamp() - issued <= FRESH_OIDC_SECONDS
    if not fresh:
        # the identity cookie outlives our idle rule: a reload must not sign in again past it
        st.warning("Your session expired after a long time without activity. Please log in again.")
        st.button("Log in again", on_click=st.logout, type="primary")
        return False
    audit_log.append("login", user=email, role=who.role, scope=who.cache_key(), detail={"method": "oidc"})
    _sign_in(email, who, "oidc")
    _leave("Signed in. Opening the page ...")  # the cookie's redirect, then the page in a resumed session


def current_login() -> tuple[str, Viewer] | None:
    """The signed-in user and viewer, after the idle and absolute time-outs; None when nobody is signed in."""
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        if not _oidc_login():
            return None
    elif not st.session_state.get(_USER):
        _resume_local()
    user, who, seen = (st.session_state.get(k) for k in (_USER, _VIEWER, _SEEN))
    if not (user and who and seen):
        return None
    sid = st.session_state.get(_SID)
    live = web_sessions.resume_id(sid) if sid else None
    if accounts.session_expired(seen) or (sid and live is None):
        _sign_out("expired")
        st.warning("Your session expired or was ended. Please log in again.")
        return None
    st.session_state[_SEEN] = _now()
    return user, who


def logout_button() -> None:
    method = st.session_state.get(_METHOD)
    with st.sidebar:
        st.caption(f"Signed in as **{st.session_state.get(_USER)}** ({ROLE_LABELS[st.session_state[_VIEWER].role]})")
        if st.button("Log out", key="logout"):
            _sign_out()
            if method == "oidc":
                st.logout()
            else:
                _redirect(f"{web_sessions.END_ROUTE}?next=/")  # the browser drops its cookie
            _leave("Logged out.")


def login_form() -> None:
    """Single sign-on button or the local-account form; on success, signs in and sends the browser
    on (through the cookie route) to the page it asked for."""
    if oidc_configured():
        st.write("This dashboard holds real student data. Sign in with your district account.")
        st.button("Log in with single sign-on", on_click=st.login, type="primary")
        return
    if not accounts.list_users():
        st.warning(
            "No account exists yet. An administrator creates the first one on the server with "
            "`python -m pipelines users add NAME --role admin`."
        )
        return
    with st.form("login"):
        name = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    # failures lock this account from this address only, so an outsider cannot lock the admin out
    address = st.context.ip_address  # None on localhost (and not a str under AppTest)
    result = accounts.login(name.strip().lower(), password, client=address if isinstance(address, str) else "")
    if result.ok and result.account is not None:
        _sign_in(result.account.name, result.account.viewer(), "local")
        _leave("Signed in. Opening the page ...")  # the cookie's redirect, then the page in a resumed session
    else:
        st.error(result.message)  # one answer for unknown, wrong, locked and disabled
