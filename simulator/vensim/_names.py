"""Names: Vensim/XMILE names to Upstream identifiers, and Upstream names back to Vensim.

Vensim names are case-insensitive, may contain spaces and, in quotes, any
character.  Imported variables and dimensions are named as PySD names them
(``Teacup Temperature`` -> ``teacup_temperature``), so a name an analyst
knows from PySD addresses the same constant or lookup in Upstream.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

__all__ = ["Namespace", "identifier", "normal", "unquote", "vensim_label", "vensim_name", "vensim_text"]

#: names the Upstream spec reserves for time and the step
_RESERVED = {"time", "t", "dt"}


def unquote(name: str) -> str:
    """A name as written, without the double quotes Vensim allows around any name.

    Parameters
    ----------
    name
        A Vensim name, maybe quoted.

    Returns
    -------
    str
    """
    s = name.strip()
    if len(s) >= 2 and s[0] == s[-1] == '"':
        s = s[1:-1].replace('\\"', '"')
    return s


def normal(name: str) -> str:
    """The key Vensim matches names by: case, spaces and underscores do not count.

    Parameters
    ----------
    name
        A Vensim name, maybe quoted.

    Returns
    -------
    str
    """
    return re.sub(r"[\s_]+", "_", unquote(name).lower())


def identifier(name: str) -> str:
    """PySD's identifier for a Vensim name: lower case, ``_`` for spaces, ASCII letters and digits.

    Parameters
    ----------
    name
        A Vensim name.

    Returns
    -------
    str
    """
    s = normal(name)
    s = unicodedata.normalize("NFD", s).encode("ascii", "ignore").decode("utf-8")
    s = re.sub(r"[^0-9a-zA-Z_]", "", s)
    if not s or s[0].isdigit():
        s = "nvs_" + s
    elif s.startswith("_"):
        s = "nvs" + s
    return re.sub(r"_+", "_", s)


class Namespace:
    """Unique identifiers for a model's names (``x``, then ``x_1``, ``x_2`` for clashes)."""

    def __init__(self) -> None:
        self.used: set[str] = set(_RESERVED) | set(keyword.kwlist)
        self.by_key: dict[str, str] = {}

    def add(self, name: str) -> str:
        """Register a Vensim name and return its identifier (the same one for the same name).

        Parameters
        ----------
        name
            A Vensim name.

        Returns
        -------
        str
            Its PySD-style identifier, unique in this namespace.
        """
        key = normal(name)
        if key in self.by_key:
            return self.by_key[key]
        ident = self.fresh(identifier(name))
        self.by_key[key] = ident
        return ident

    def fresh(self, base: str) -> str:
        """A new identifier starting with ``base``.

        Parameters
        ----------
        base
            The wanted identifier.

        Returns
        -------
        str
            ``base``, or ``base_1``, ``base_2`` ... if taken.
        """
        ident, i = base, 1
        while ident in self.used:
            ident = f"{base}_{i}"
            i += 1
        self.used.add(ident)
        return ident

    def get(self, name: str) -> str | None:
        """The identifier of a registered name, or ``None``.

        Parameters
        ----------
        name
            A Vensim name.

        Returns
        -------
        str or None
        """
        return self.by_key.get(normal(name))


_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*$")


def vensim_name(name: str, quote: bool = True) -> str:
    """An Upstream name or label written for Vensim: ``at_risk`` -> ``at risk``, others quoted.

    Names made of letters, digits, spaces and underscores that start with a
    letter are written as they are (underscores become spaces); any other
    name is put in double quotes, which Vensim and PySD accept for any text.

    Parameters
    ----------
    name
        An Upstream name or label.
    quote
        Whether quoting is allowed (else a name that needs it raises ``ValueError``).

    Returns
    -------
    str
    """
    if _PLAIN.match(name) and "  " not in name and not name.endswith(" "):
        return name.replace("_", " ")
    if not quote:
        raise ValueError(f"{name!r} needs quotes in Vensim")
    return '"' + name.replace('"', '\\"') + '"'


def vensim_text(label: str) -> str:
    """A label as Vensim keeps it: every run of white space (tabs, no-break spaces) is one space.

    Parameters
    ----------
    label
        A subscript element's label.

    Returns
    -------
    str
    """
    return " ".join(label.split())


def vensim_label(label: str) -> str:
    """A subscript element written for Vensim: as it is when plain, else in double quotes.

    Parameters
    ----------
    label
        An Upstream subscript label.

    Returns
    -------
    str
    """
    label = vensim_text(label)
    if _PLAIN.match(label) and "  " not in label and not label.endswith(" "):
        return label
    return '"' + label.replace('"', '\\"') + '"'
