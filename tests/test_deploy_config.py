"""Production config (.streamlit/config.toml), as Streamlit itself reads it from the repo root."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

READ_CONFIG = """
import json
from streamlit import config
config.get_config_options(force_reparse=True)
names = ["client.toolbarMode", "client.showErrorDetails", "client.showErrorLinks", "client.disableDataExport",
         "client.showSidebarNavigation", "browser.gatherUsageStats", "server.headless", "server.runOnSave",
         "server.enableStaticServing", "server.enableXsrfProtection"]
print(json.dumps({n: config.get_option(n) for n in names}))
print(json.dumps({k: o.where_defined for k, o in config._config_options.items() if k.startswith(("client.", "server.", "browser."))}))
"""


def _streamlit_config() -> tuple[dict, dict]:
    done = subprocess.run(
        [sys.executable, "-c", READ_CONFIG],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(REPO / ".no-home")},
    )
    values, where = done.stdout.strip().splitlines()[-2:]
    return json.loads(values), json.loads(where)


def test_streamlit_reads_the_production_settings_from_the_repo():
    values, where = _streamlit_config()
    assert values["client.toolbarMode"] == "minimal"  # no Deploy button, no developer menu
    assert values["client.showErrorDetails"] == "none"  # no traceback or message text in the browser
    assert values["client.showErrorLinks"] is False
    assert values["client.disableDataExport"] is True  # no CSV button that bypasses the audited download
    assert values["browser.gatherUsageStats"] is False
    assert values["server.runOnSave"] is False and values["server.enableStaticServing"] is False
    assert values["server.enableXsrfProtection"] is True
    # st.navigation draws the menu; hiding "sidebar navigation" would hide it too
    assert values["client.showSidebarNavigation"] is True
    config_file = str(REPO / ".streamlit" / "config.toml")
    assert where["client.toolbarMode"] == config_file and where["client.disableDataExport"] == config_file


def test_every_key_in_the_file_is_a_streamlit_option():
    import tomllib

    from streamlit import config

    data = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    keys = {f"{section}.{name}" for section, options in data.items() for name in options}
    assert keys and not keys - set(config._config_options_template), (
        "misspelt options are silently ignored by Streamlit"
    )


def _page_icons() -> list[object]:
    icons = []
    for path in [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "set_page_config":
                icons += [ast.literal_eval(k.value) for k in node.keywords if k.arg == "page_icon"]
    return icons


def test_the_favicon_needs_no_outside_host():
    # A ":material/...:" page_icon makes the browser fetch the favicon from fonts.gstatic.com; an emoji
    # becomes an inline data: URL. (Material icons in the menu come from the font Streamlit bundles.)
    icons = _page_icons()
    assert icons, "app.py sets a page icon"
    assert not [i for i in icons if isinstance(i, str) and i.startswith(":material")]
