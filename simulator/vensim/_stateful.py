"""SMOOTH, DELAY1, DELAY3 and DELAY FIXED as hidden stocks, as PySD defines them.

Each call becomes ``order`` hidden stocks on the elements of the equation it
appears in (named ``<variable>__smooth1_2`` and so on: Vensim names never
hold a double underscore), each with one net inflow:

* ``SMOOTH``/``SMOOTH3`` (``SMOOTHI``/``SMOOTH3I``): stages ``s_k`` start at the
  initial value (default: the input); ``s_k' = (s_{k-1} - s_k) * order / T`` with
  ``s_0`` the input; the value is the last stage.
* ``DELAY1``/``DELAY3`` (``...I``): PySD's stages hold ``init * T`` each;
  ``s_k' = order * (s_{k-1} / T - s_k / T)`` with ``s_0 / T`` the input; the value
  is ``s_order / T``.
* ``SMOOTH N`` and ``DELAY N`` with a constant order (and, for ``DELAY N``, a
  delay time that does not change during the run) are the same stages;
* ``TREND`` and ``FORECAST``: one stage ``s' = (input - s) / T`` started at
  ``input / (1 + trend * T)`` (``input / (1 + trend)`` for FORECAST);
  ``SAMPLE IF TRUE``: one stage that jumps to the input in a step where the
  condition holds (``s' = (input - s) / TIME STEP``), exact under Euler at the
  model's TIME STEP;
* ``DELAY FIXED``: a pipeline of ``n = max(round(T / TIME STEP), 1)`` stages
  (``T`` taken at INITIAL TIME, as PySD does), each emptied at rate
  1 / TIME STEP into the next.  Under Euler at the model's TIME STEP each
  stage passes its value on exactly one step later, so the last stage is the
  input ``n`` steps earlier (the initial value before that): PySD's and
  Vensim's ring buffer, exactly.  At another step, or with RK4, it is an
  ``n``-th order delay.  The pipeline is fixed when the model is imported:
  changing the delay time's parameters in an ensemble does not change it
  (they are listed in ``spec.meta["structural"]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.core._formulas import Binary, Call, Expr, IfElse, Num, Ref, refs
from simulator.vensim._context import EquationTranslator, ImportContext, Unsupported

if TYPE_CHECKING:  # pragma: no cover
    from pysd.translators.structures import abstract_expressions as ae

__all__ = ["Stateful"]


class Stateful:
    """Builds the hidden stocks of stateful functions for an importer."""

    def __init__(self, importer: ImportContext):
        self.imp = importer

    def _args(self, tr: EquationTranslator, node: object, names: tuple[str, ...]) -> list[Expr]:
        out = []
        for n in names:
            e, bang = tr.tr(getattr(node, n))
            if bang:
                raise Unsupported(f"a '!' subscript inside the {n} of a stateful function")
            out.append(e)
        return out

    def _initial(self, tr: EquationTranslator, node: object, name: str) -> Expr:
        return tr.at_start().top(getattr(node, name))

    def smooth(self, tr: EquationTranslator, node: ae.SmoothStructure) -> Expr:
        """SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N.

        Parameters
        ----------
        tr, node
            The translator of the equation, and the parsed call.

        Returns
        -------
        Expr
            The smoothed value (the last hidden stock), or its initial value in ``initial`` mode.
        """
        order = self._order(tr, node.order, "SMOOTH N")
        init = self._initial(tr, node, "initial")
        if tr.mode == "initial":
            return init
        inp, time = self._args(tr, node, ("input", "smooth_time"))
        names = self.imp.hidden_names(tr.var, "smooth", order)
        for k, name in enumerate(names):
            prev = inp if k == 0 else Ref(names[k - 1])
            rate = Binary("*", Binary("-", prev, Ref(name)), Num(float(order)) / time)
            self.imp.add_hidden_stock(name, tr.var, tr.piece, init, rate)
        return Ref(names[-1])

    def delay(self, tr: EquationTranslator, node: ae.DelayStructure) -> Expr:
        """DELAY1, DELAY1I, DELAY3, DELAY3I, DELAY N.

        Parameters
        ----------
        tr, node
            The translator of the equation, and the parsed call.

        Returns
        -------
        Expr
            The delayed outflow, or its initial value in ``initial`` mode.
        """
        order = self._order(tr, node.order, "DELAY N")
        init = self._initial(tr, node, "initial")
        if tr.mode == "initial":
            return init
        inp, time = self._args(tr, node, ("input", "delay_time"))
        if type(node).__name__ == "DelayNStructure" and self.imp.depends_on_run(time):
            raise Unsupported("DELAY N with a delay time that changes during the run")
        time0 = self._initial(tr, node, "delay_time")
        try:
            t_value = self.imp.constant_value(time0, "DELAY")
        except Unsupported:
            t_value = None
        # PySD lowers the order until order * TIME STEP fits in the delay time
        while t_value is not None and order > 1 and order * self.imp.dt > t_value:
            order -= 1
        names = self.imp.hidden_names(tr.var, "delay", order)
        for k, name in enumerate(names):
            prev = inp if k == 0 else Ref(names[k - 1]) / time
            rate = Num(float(order)) * (prev - Ref(name) / time)
            self.imp.add_hidden_stock(name, tr.var, tr.piece, init * time0, rate)
        return Ref(names[-1]) / time

    def delay_fixed(self, tr: EquationTranslator, node: ae.DelayFixedStructure) -> Expr:
        """DELAY FIXED (and XMILE's DELAY): a pipeline of one-step stages.

        Parameters
        ----------
        tr, node
            The translator of the equation, and the parsed call.

        Returns
        -------
        Expr
            The value leaving the pipeline, or its initial value in ``initial`` mode.
        """
        init = self._initial(tr, node, "initial")
        if tr.mode == "initial":
            return init
        (inp,) = self._args(tr, node, ("input",))
        # PySD fixes the pipeline when the run starts: the delay time at INITIAL TIME
        time = self._initial(tr, node, "delay_time")
        t_value = self.imp.constant_value(time, "DELAY FIXED")
        n = max(round(t_value / self.imp.dt + 1e-6), 1)
        if n > 10_000:
            raise Unsupported("DELAY FIXED over more than 10,000 time steps")
        names = self.imp.hidden_names(tr.var, "delayfixed", n)
        # every stage passes its value on one TIME STEP later (rate 1 / TIME STEP)
        per = Num(1.0 / self.imp.dt)
        for k, name in enumerate(names):
            prev = inp if k == 0 else Ref(names[k - 1])
            self.imp.add_hidden_stock(name, tr.var, tr.piece, init, (prev - Ref(name)) * per)
        self.imp.structural.update(r for r in refs(time) if r in self.imp.vars)
        return Ref(names[-1])

    def _order(self, tr: EquationTranslator, value: object, what: str) -> int:
        """The (constant) order of a smooth or delay: a number, or fixed at INITIAL TIME."""
        if isinstance(value, int | float):
            order = int(value)
        else:
            e = tr.at_start().top(value)
            order = int(self.imp.constant_value(e, what))
        if order < 1:
            raise Unsupported(f"{what} of order {order}")
        return order

    def trend(self, tr: EquationTranslator, node: ae.TrendStructure) -> Expr:
        """TREND(input, average time, initial trend).

        Parameters
        ----------
        tr, node
            The translator of the equation, and the parsed call.

        Returns
        -------
        Expr
        """
        return self._average(tr, node, "trend", node.initial_trend, None)

    def forecast(self, tr: EquationTranslator, node: ae.ForecastStructure) -> Expr:
        """FORECAST(input, average time, horizon, initial trend).

        Parameters
        ----------
        tr, node
            The translator of the equation, and the parsed call.

        Returns
        -------
        Expr
        """
        return self._average(tr, node, "forecast", node.initial_trend, node.horizon)

    def _average(self, tr: EquationTranslator, node, kind: str, trend0, horizon) -> Expr:
        it = tr.at_start()
        inp0, time0, g0 = it.top(node.input), it.top(node.average_time), it.top(trend0)
        start = inp0 / (Num(1.0) + g0 * time0) if kind == "trend" else inp0 / (Num(1.0) + g0)
        inp, time = self._args(tr, node, ("input", "average_time"))
        if tr.mode == "initial":
            state, inp, time = start, inp0, time0
        else:
            (name,) = self.imp.hidden_names(tr.var, kind, 1)
            self.imp.add_hidden_stock(name, tr.var, tr.piece, start, (inp - Ref(name)) / time)
            state = Ref(name)
        change = _zidz(inp - state, time * Call("abs", (state,)))
        if kind == "trend":
            return change
        (h,) = self._args(tr, node, ("horizon",)) if tr.mode != "initial" else (it.top(horizon),)
        return inp * (Num(1.0) + change * h)

    def sample_if_true(self, tr: EquationTranslator, node: ae.SampleIfTrueStructure) -> Expr:
        """SAMPLE IF TRUE(condition, input, initial).

        Parameters
        ----------
        tr, node
            The translator of the equation, and the parsed call.

        Returns
        -------
        Expr
        """
        init = self._initial(tr, node, "initial")
        cond, inp = self._args(tr, node, ("condition", "input"))
        if tr.mode == "initial":
            return IfElse(cond, inp, init)
        (name,) = self.imp.hidden_names(tr.var, "sample", 1)
        jump = IfElse(cond, (inp - Ref(name)) / Num(self.imp.dt), Num(0.0))
        self.imp.add_hidden_stock(name, tr.var, tr.piece, init, jump)
        return IfElse(cond, inp, Ref(name))


def _zidz(a: Expr, b: Expr) -> Expr:
    small = Binary("<", Call("abs", (b,)), Num(1e-6))
    return Call("xidz", (a, IfElse(small, Num(0.0), b), Num(0.0)))
