"""What the importer, the equation translator and the stateful-function builder share.

The importer (:mod:`._import_build`, :mod:`._import_state`) drives the translator
(:mod:`._translate`), which hands stateful functions to :mod:`._stateful`; both of
those call back into the importer.  They meet here, below all three: the
variable record :class:`Var`, the :class:`Unsupported` error, and two small
protocols naming what each side needs of the other (:class:`ImportContext`:
the importer as the translator sees it; :class:`EquationTranslator`: the
translator as the stateful builder sees it).  Nothing here imports the modules
above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from simulator.core._formulas import Expr
from simulator.core._spaces import SCALAR, Space
from simulator.vensim._subscripts import Piece, Subscripts

__all__ = ["HIDDEN", "EquationTranslator", "ImportContext", "Result", "Unsupported", "Var"]

#: separator of hidden names (``x__init``, ``x__smooth1_2``): Vensim names never hold it
HIDDEN = "__"

#: a translated node: the expression and its dimensions marked ``!``
Result = tuple[Expr, frozenset[str]]


class Unsupported(ValueError):
    """A Vensim/XMILE construct Upstream does not compile; ``construct`` names it."""

    def __init__(self, construct: str, detail: str = ""):
        self.construct = construct
        super().__init__(f"{construct} is not supported" + (f" ({detail})" if detail else ""))


@dataclass
class Var:
    """One model variable (Vensim element) and its equations."""

    name: str
    ident: str
    kind: str  # constant, lookup, stock, aux
    dims: list[str]
    pieces: list[Piece]
    units: str = ""
    doc: str = ""
    limits: tuple = (None, None)
    space: Space = SCALAR
    dyn: list[Expr] | None = None
    non_negative: bool = False


class ImportContext(Protocol):
    """The importer as the translator and the stateful builder use it."""

    sub: Subscripts
    vars: dict[str, Var]
    vars_by_ref: dict[str, Var]
    clock_refs: dict[str, float]
    structural: set[str]
    t0: float
    dt: float

    def var_by_ref(self, ref: str, owner: str) -> Var:
        """The variable a reference in an equation names.

        Parameters
        ----------
        ref, owner
            The reference as written, and the variable whose equation has it (for the error message).

        Returns
        -------
        Var
        """
        ...

    def value_of(self, var: Var, mode: str, owner: str) -> Expr:
        """What a bare reference to ``var`` means in ``mode`` (dynamic or initial).

        Parameters
        ----------
        var, mode, owner
            The variable, ``"dynamic"`` or ``"initial"``, and the variable whose equation refers to it.

        Returns
        -------
        Expr
        """
        ...

    def position(self, ref: str) -> Expr | None:
        """A subscript range or element as a number (its position), or ``None``.

        Parameters
        ----------
        ref
            A name in an equation.

        Returns
        -------
        Expr or None
        """
        ...

    def piece_values(self, var: Var, piece: Piece) -> str:
        """A hidden parameter holding one equation's table of numbers.

        Parameters
        ----------
        var, piece
            The variable and the equation whose numbers to hold.

        Returns
        -------
        str
            The hidden parameter's name.
        """
        ...

    def inline_table(self, var: Var, lookups: object) -> str:
        """A table parameter for a WITH LOOKUP in ``var``'s equation.

        Parameters
        ----------
        var, lookups
            The variable and its parsed WITH LOOKUP.

        Returns
        -------
        str
            The table parameter's name.
        """
        ...

    def depends_on_run(self, e: Expr) -> bool:
        """Whether an expression changes during a run.

        Parameters
        ----------
        e
            A translated expression.

        Returns
        -------
        bool
        """
        ...

    def constant_value(self, e: Expr, what: str) -> float:
        """The number a parameter-only scalar expression gives with the default values.

        Parameters
        ----------
        e, what
            The expression, and what it is for (for the error message).

        Returns
        -------
        float
        """
        ...

    def hidden_names(self, var: Var, kind: str, order: int) -> list[str]:
        """Fresh names for one stateful call's stages.

        Parameters
        ----------
        var, kind, order
            The variable, the function's kind and how many stages it has.

        Returns
        -------
        list of str
            ``order`` names.
        """
        ...

    def add_hidden_stock(self, name: str, var: Var, piece: Piece, initial: Expr, rate: Expr) -> None:
        """A hidden stock on the elements of ``piece`` with one net inflow.

        Parameters
        ----------
        name, var, piece
            The stock's name, and the variable and equation it belongs to.
        initial, rate
            Its initial value and net inflow (per time unit of the model).
        """
        ...


class EquationTranslator(Protocol):
    """The translator of one equation as the stateful builder uses it."""

    imp: ImportContext
    var: Var
    piece: Piece
    mode: str

    def tr(self, node: object) -> Result:
        """Translate one node; the expression and its ``!`` dimensions.

        Parameters
        ----------
        node
            A parsed equation node.

        Returns
        -------
        Result
        """
        ...

    def top(self, node: object) -> Expr:
        """Translate a whole right-hand side.

        Parameters
        ----------
        node
            The parsed right-hand side.

        Returns
        -------
        Expr
        """
        ...

    def at_start(self) -> EquationTranslator:
        """A translator of the same equation in ``initial`` mode (values at INITIAL TIME).

        Returns
        -------
        EquationTranslator
        """
        ...
