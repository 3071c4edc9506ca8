"""Figures shown inline in Jupyter without pyplot or ``%matplotlib inline``."""

from __future__ import annotations

from matplotlib.figure import Figure

from .._backend import jupyter_kernel

__all__ = ["show_figures_inline"]


def show_figures_inline() -> bool:
    """In a Jupyter kernel, display a returned ``Figure`` as a PNG image.

    The plots are built without pyplot, and IPython shows a ``Figure`` as an image
    only once matplotlib's inline backend registered a formatter for it (pyplot used,
    or ``%matplotlib inline``): a fresh notebook showed ``<Figure size 800x450 with
    1 Axes>``. A formatter the user or the backend registered is left alone.

    Returns:
        Whether a formatter was registered.
    """
    shell = jupyter_kernel()  # a terminal IPython shows no images
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "image/png" not in formatters:
        return False
    png = formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, _png)
        return True
    return False


def _png(figure: Figure) -> bytes | None:
    from IPython.core.pylabtools import print_figure  # noqa: PLC0415 - IPython is running

    data: bytes | None = print_figure(figure, "png", bbox_inches="tight")
    return data
