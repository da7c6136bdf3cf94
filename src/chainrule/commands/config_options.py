"""A config dataclass as command-line options: one ``--field-name`` per field, and back.

``mnist train`` (:class:`~chainrule.mnist.config.TrainConfig`) and ``gradients``
(:class:`~chainrule.vanishing.deepnet.GradientConfig`) both derive their options
from their dataclass, so a new field is a new option without a second list to
keep in step. Each option is typed after the field's annotation (``bool``: a
``--x/--no-x`` pair; a ``Literal``: its choices; ``tuple[int, ...]``: one or
more integers; ``X | None``: an ``X``), its help is the comment written after
the field, and its default is None, so :func:`given_options` can tell what the
command line set from what it left alone.

>>> import argparse
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo:
...     depth: int = 3  # layers
...     fast: bool = False  # skip the checks
>>> parser = argparse.ArgumentParser()
>>> add_config_options(parser, Demo, helps={"depth": "layers"})
>>> args = parser.parse_args(["--depth", "5"])
>>> given_options(args, Demo)
{'depth': 5}
>>> parser.parse_args(["--fast"]).fast
True
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, get_args, get_origin


def field_help(cls: type) -> dict[str, str]:
    """One line of help per field of a dataclass: the comment after the field in its source.

    >>> from chainrule.mnist.config import TrainConfig
    >>> field_help(TrainConfig)["epochs"]
    'passes over the training split'
    """
    names = {f.name for f in dataclasses.fields(cls)}
    helps: dict[str, str] = {}
    for line in inspect.getsource(cls).splitlines():
        head, _, comment = line.partition("#")
        name = head.strip().split(":", 1)[0]
        if comment and name in names:
            helps[name] = comment.strip()
    return helps


def add_config_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    helps: Mapping[str, str] | None = None,
    defaults: Any = None,
    skip: Collection[str] = (),
    hidden: Collection[str] = (),
    choices: Mapping[str, Sequence[str]] | None = None,
    metavars: Mapping[str, str] | None = None,
) -> None:
    """Add one ``--field-name`` option per field of the dataclass ``cls``.

    ``helps`` defaults to :func:`field_help`; with ``defaults`` (an instance) each help
    names the field's default value. ``skip``: fields with no option; ``hidden``:
    options left out of ``--help``; ``choices``: allowed values of a field typed ``str``.
    """
    helps = field_help(cls) if helps is None else helps
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        options = _typed(hints[field.name])
        if choices and field.name in choices:
            options = {"choices": list(choices[field.name])}
        if metavars and field.name in metavars:
            options["metavar"] = metavars[field.name]
        text = helps.get(field.name)
        default = getattr(defaults, field.name, None) if defaults is not None else None
        if text and default is not None:
            shown_default = repr(default) if isinstance(default, str) else default
            text += f" (default {shown_default})"
        shown = argparse.SUPPRESS if field.name in hidden else text
        flag = "--" + field.name.replace("_", "-")
        parser.add_argument(flag, dest=field.name, default=None, help=shown, **options)


def _typed(hint: Any) -> dict[str, Any]:
    """argparse keywords that parse one value of the type ``hint``."""
    if get_origin(hint) in (typing.Union, types.UnionType):  # X | None: an X, or left out
        (hint,) = [arg for arg in get_args(hint) if arg is not type(None)]
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if get_origin(hint) is Literal:
        return {"choices": list(get_args(hint))}
    if get_origin(hint) is tuple:  # tuple[int, ...]: one or more
        return {"type": get_args(hint)[0], "nargs": "+", "metavar": "N"}
    if hint in (int, float):
        return {"type": hint, "metavar": hint.__name__.upper()}
    if hint is str:
        return {"type": str}
    raise TypeError(f"no command-line option for a field of type {hint!r}")


def given_options(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` that the command line set (an option left out is None)."""
    given = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(cls)}
    return {name: value for name, value in given.items() if value is not None}
