"""The group a solution is handed in by: its number, and each member's name and matriculation.

The sheet asks for both on the PDF. They come from the command line (``--group 7
--member "Ada Lovelace:123456"``) or from a small TOML file (``--members group.toml``)
and are checked here, before anything runs: the group number names the zip
(``exercise_1_group_7.zip``), so it holds only letters, digits, ``-`` and ``_``;
a name holds no character that a file system or the ``NAME:NUMBER`` form reserves.

>>> group = group_from_options("7", ["Ada Lovelace:123456", "Alan Turing:654321"])
>>> group.title, [(m.name, m.matriculation) for m in group.members]
('Group 7', [('Ada Lovelace', '123456'), ('Alan Turing', '654321')])
>>> parse_member("Ada")
Traceback (most recent call last):
...
chainrule.report.group.GroupError: --member 'Ada': no matriculation number; write NAME:NUMBER
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainrule.errors import ChainruleError
from chainrule.files import read_text

GROUP_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
MATRICULATION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,23}")
RESERVED = frozenset('/\\:*?"<>|')
"""Characters no name may hold: Windows reserves them in file names, ``:`` separates NAME:NUMBER."""
MAX_NAME = 100
MAX_FILE = 64_000
"""Largest members file read (bytes): a group's names and numbers fit many times over."""


class GroupError(ChainruleError):
    """A group number, a member or a members file that cannot go on the hand-in."""


@dataclass(frozen=True)
class Member:
    """One member of the group."""

    name: str
    matriculation: str


@dataclass(frozen=True)
class Group:
    """The group number and its members, in the order given."""

    number: str
    members: tuple[Member, ...]

    @property
    def title(self) -> str:
        return f"Group {self.number}"


def check_group_number(number: str, where: str = "--group") -> str:
    """The group number, stripped; an error unless it can go into a file name.

    >>> check_group_number(" 07 ")
    '07'
    >>> check_group_number("7/8")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chainrule.report.group.GroupError: --group '7/8': only letters, digits, - and _ (it names...)
    """
    text = number.strip()
    if not text:
        raise GroupError(f"{where} is empty: give the group number, e.g. --group 7")
    if not GROUP_PATTERN.fullmatch(text):
        raise GroupError(
            f"{where} {number!r}: only letters, digits, - and _ (it names the zip)"
        )
    return text


def check_name(name: str, where: str) -> str:
    """A member's name, stripped; an error if empty, too long or holding a reserved character.

    >>> check_name("  Jürgen Müller-Lüdenscheidt ", "--member")
    'Jürgen Müller-Lüdenscheidt'
    """
    # Control, format and separator characters (a tab, a line break) other than the space.
    bad = sorted({c for c in name
                  if c in RESERVED or (unicodedata.category(c)[0] in "CZ" and c != " ")})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise GroupError(f"{where}: the name holds {shown}, which cannot go into a file name")
    text = " ".join(name.split())  # no runs of spaces, none around
    if not text:
        raise GroupError(f"{where}: the name is empty")
    if len(text) > MAX_NAME:
        raise GroupError(f"{where}: the name is longer than {MAX_NAME} characters")
    return text


def check_matriculation(number: str, where: str) -> str:
    """A matriculation number: letters, digits and ``-``, with at least one digit.

    >>> check_matriculation("s1234567", "--member")
    's1234567'
    """
    text = number.strip()
    if not text:
        raise GroupError(f"{where}: no matriculation number; write NAME:NUMBER")
    if not MATRICULATION_PATTERN.fullmatch(text) or not any(c.isdigit() for c in text):
        raise GroupError(
            f"{where}: the matriculation number {number!r} must be letters, digits and '-' "
            "with at least one digit"
        )
    return text


def parse_member(text: str, where: str | None = None) -> Member:
    """``"Ada Lovelace:123456"`` -> Member; the last ``:`` separates the number."""
    where = where or f"--member {text!r}"
    name, colon, number = text.rpartition(":")
    if not colon:
        raise GroupError(f"{where}: no matriculation number; write NAME:NUMBER")
    return Member(check_name(name, where), check_matriculation(number, where))


def _unique(members: Sequence[Member], where: str) -> tuple[Member, ...]:
    if not members:
        raise GroupError(f"{where}: no members; give each as --member 'NAME:NUMBER'")
    seen: set[str] = set()
    for member in members:
        if member.matriculation in seen:
            raise GroupError(f"{where}: matriculation number {member.matriculation} appears twice")
        seen.add(member.matriculation)
    return tuple(members)


def _file_member(entry: Any, where: str) -> Member:
    """One entry of a members file: ``"NAME:NUMBER"`` or ``{name = ..., matriculation = ...}``."""
    if isinstance(entry, str):
        return parse_member(entry, where)
    if not isinstance(entry, dict):
        raise GroupError(f"{where}: write a member as \"NAME:NUMBER\" or as a table")
    unknown = sorted(set(entry) - {"name", "matriculation"})
    if unknown:
        raise GroupError(f"{where}: unknown key {unknown[0]!r} (use name and matriculation)")
    name, number = entry.get("name"), entry.get("matriculation")
    if not isinstance(name, str):
        raise GroupError(f"{where}: no name (a string)")
    if isinstance(number, bool) or not isinstance(number, str | int):
        raise GroupError(f"{where}: no matriculation number; write NAME:NUMBER")
    return Member(check_name(name, where), check_matriculation(str(number), where))


def load_members_file(path: Path) -> tuple[str | None, tuple[Member, ...]]:
    """The group number (None if the file has none) and the members of a TOML file.

    The file reads ``group = 7`` and ``members = [{ name = "Ada Lovelace",
    matriculation = "123456" }, "Alan Turing:654321"]`` (``[[members]]`` tables work too).
    """
    where = f"--members {path}"
    text = read_text(path, "the members file", MAX_FILE)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise GroupError(f"{where}: not valid TOML: {problem}") from None
    unknown = sorted(set(data) - {"group", "members"})
    if unknown:
        raise GroupError(f"{where}: unknown key {unknown[0]!r} (use group and members)")
    group = data.get("group")
    if isinstance(group, bool) or not isinstance(group, str | int | None):
        raise GroupError(f"{where}: group must be a number or a string")
    entries = data.get("members", [])
    if not isinstance(entries, list):
        raise GroupError(f"{where}: members must be a list")
    members = tuple(
        _file_member(entry, f"{where}: member {n}") for n, entry in enumerate(entries, 1)
    )
    number = None if group is None else check_group_number(str(group), f"{where}: group")
    return number, members


def group_from_options(
    number: str | None, members: Sequence[str], members_file: Path | None = None
) -> Group:
    """The group from ``--group``, ``--member`` and ``--members`` (the command line wins)."""
    file_number, file_members = (None, ()) if members_file is None else (
        load_members_file(members_file))
    if members and file_members:
        raise GroupError("give the members either with --member or in --members FILE, not both")
    if number is None and file_number is None:
        raise GroupError("--group is missing: give the group number, e.g. --group 7")
    checked = check_group_number(number) if number is not None else file_number
    assert checked is not None
    listed = tuple(parse_member(text) for text in members) or file_members
    where = f"--members {members_file}" if file_members else "--member"
    return Group(checked, _unique(listed, where))
