"""mkdocs hook: show the Sphinx roles of docstrings as plain code in the API reference.

Docstrings cross-reference with roles such as :class:`Result`, which mkdocstrings'
Markdown renders literally (``:class:<code>Result</code>``); keep only the code span,
and show ``~pkg.Name`` as ``Name`` as Sphinx does. A paragraph ending in ``::``
(before a code block) ends in ``:``, also as in Sphinx.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj):<code>(~?)([^<]*)</code>")


def _plain(match: re.Match[str]) -> str:
    name = match.group(2).rsplit(".", 1)[-1] if match.group(1) else match.group(2)
    return f"<code>{name}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    """Replace each rendered role with its code span, and ``::`` before code with ``:``."""
    return _ROLE.sub(_plain, html).replace("::</p>", ":</p>")
