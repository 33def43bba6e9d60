"""How ``--help`` names options and arguments, as the docs do.

typer (0.29) writes a type after every option, flags included (``--json <bool>``, though a flag
takes no value), and braces around required arguments in the usage line
(``titles show [OPTIONS] {title_id}``), where the documentation writes ``TITLE_ID``. Its classes
offer no setting for either, so :func:`install` adjusts the two methods when the ``pomona``
command starts (never at import).
"""

from __future__ import annotations

from typing import Any

from typer import core


def install() -> None:
    option_type = core.TyperOption.display_type_rich

    def display_type_rich(self: core.TyperOption, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None  # nothing follows a flag on the command line
        return option_type(self, ctx)

    def usage_name(self: core.TyperArgument) -> str:
        name = self.display_name_raw.upper()
        if not self.required:
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
